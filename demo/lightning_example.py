"""Train the demo's network on scikit-learn's digits with PyTorch Lightning, logged by ``DeepVizCallback``.

    pip install tensorboard-deepviz[lightning]
    python demo/lightning_example.py --logdir runs/lightning
    tensorboard --logdir runs/lightning

The deepviz records go into the TensorBoardLogger's run (``runs/lightning/digits/version_N``),
next to the loss the module logs with ``self.log``. Under a minute on a laptop CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

# Run as a script from a checkout: make the repository root (and so demo/) importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger

from demo.data import load_digits_dataset
from demo.model import DeepVizNet
from tensorboard_deepviz.lightning import DeepVizCallback


class DigitsClassifier(pl.LightningModule):
    """The demo's CNN as a LightningModule; ``forward`` returns the logits DeepViz reads."""

    def __init__(self, num_classes: int, learning_rate: float) -> None:
        super().__init__()
        self.net = DeepVizNet(num_classes=num_classes)
        self.learning_rate = learning_rate

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, labels = batch
        loss = F.cross_entropy(self(images), labels)
        self.log("loss/train", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.learning_rate, momentum=0.9)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Train and log; returns the run's log directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs/lightning", help="TensorBoard log directory (default runs/lightning)")
    parser.add_argument("--epochs", type=int, default=6, help="training epochs (default 6)")
    parser.add_argument("--lr", type=float, default=0.03, help="SGD learning rate (default 0.03, as the demo's)")
    parser.add_argument("--checkpoint-every", type=int, default=10, help="steps between checkpoints (default 10)")
    args = parser.parse_args(argv)

    pl.seed_everything(0)
    data = load_digits_dataset()  # bundled with scikit-learn: nothing to download
    loader = DataLoader(TensorDataset(data.train_images, data.train_labels), batch_size=64, shuffle=True)
    callback = DeepVizCallback(
        (data.test_images, data.test_labels),  # the eval set DeepViz follows
        class_names=data.class_names,
        checkpoint_every_n_steps=args.checkpoint_every,
        thumbnail_transform=data.denormalize,  # thumbnails as a person sees the images
    )
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        logger=TensorBoardLogger(args.logdir, name="digits"),
        callbacks=[callback],
        enable_checkpointing=False,
        devices=1,
    )
    trainer.fit(DigitsClassifier(data.num_classes, args.lr), loader)
    print(f"logs in {trainer.log_dir}; view them with: tensorboard --logdir {args.logdir}")
    return str(trainer.log_dir)


if __name__ == "__main__":
    main()
