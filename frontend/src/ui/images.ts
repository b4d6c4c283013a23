// Loading images ahead of showing them. A loaded and decoded Image is kept (up to a number of
// images and of pixels, least recently used dropped first), so that pointing a visible <img>
// at the same URL later shows it at once from memory: this is what makes prefetching give
// flicker-free playback. Dropped images stay in the browser's HTTP cache (the routes answer
// "immutable" for an explicit step), so asking again costs no server work.

export type ImageFactory = () => HTMLImageElement;

export class ImageCache {
  private readonly entries = new Map<string, Promise<HTMLImageElement>>();
  private readonly done = new Map<string, HTMLImageElement>();
  private pixels = 0;

  constructor(
    private readonly limit = 128,
    /** Decoded pixels kept at most (RGBA: 4 bytes each). */
    private readonly pixelBudget = 96_000_000,
    private readonly create: ImageFactory = () => new Image(),
  ) {}

  /** The decoded image at `url` (one request however often it is asked for). */
  load(url: string): Promise<HTMLImageElement> {
    const hit = this.entries.get(url);
    if (hit) {
      this.entries.delete(url);
      this.entries.set(url, hit);
      return hit;
    }
    const image = this.create();
    image.decoding = "async";
    const promise = new Promise<HTMLImageElement>((resolve, reject) => {
      image.onload = () => {
        const finish = () => {
          if (this.entries.get(url) === promise) {
            this.done.set(url, image);
            this.pixels += image.naturalWidth * image.naturalHeight;
            this.evict(url);
          }
          resolve(image);
        };
        if (typeof image.decode === "function") image.decode().then(finish, finish);
        else finish();
      };
      image.onerror = () => reject(new Error(`the image ${url} did not load`));
    });
    promise.catch(() => {
      if (this.entries.get(url) === promise) this.entries.delete(url);
    });
    this.entries.set(url, promise);
    image.src = url;
    this.evict(url);
    return promise;
  }

  /** Drop the least recently used images (never `keep`) while over the limits. */
  private evict(keep: string): void {
    for (const url of this.entries.keys()) {
      if (this.entries.size <= this.limit && this.pixels <= this.pixelBudget) return;
      if (url === keep) continue;
      this.entries.delete(url);
      const image = this.done.get(url);
      if (image) {
        this.pixels -= image.naturalWidth * image.naturalHeight;
        this.done.delete(url);
      }
    }
  }

  /** Whether `url` is loaded (or being loaded, with `pending`). */
  has(url: string, pending = false): boolean {
    return pending ? this.entries.has(url) : this.done.has(url);
  }

  /** The image at `url` if it is already loaded and decoded (to draw it without waiting a turn). */
  peek(url: string): HTMLImageElement | null {
    return this.done.get(url) ?? null;
  }
}
