import { describe, expect, it } from "vitest";
import { ImageCache } from "../../src/ui/images";

class FakeImage {
  static created: FakeImage[] = [];
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  decoding = "";
  naturalWidth = 0;
  naturalHeight = 0;
  private url = "";
  constructor() {
    FakeImage.created.push(this);
  }
  set src(url: string) {
    this.url = url;
    setTimeout(() => {
      if (url.includes("missing")) return this.onerror?.();
      const side = Number(new URLSearchParams(url.split("?")[1]).get("side") ?? 10);
      this.naturalWidth = side;
      this.naturalHeight = side;
      this.onload?.();
    }, 0);
  }
  get src() {
    return this.url;
  }
  decode() {
    return Promise.resolve();
  }
}

function cache(limit: number, budget: number) {
  FakeImage.created = [];
  return new ImageCache(limit, budget, () => new FakeImage() as unknown as HTMLImageElement);
}

describe("ImageCache", () => {
  it("loads each URL once and hands out the decoded image", async () => {
    const images = cache(10, 1e9);
    const [a, b] = await Promise.all([images.load("a?side=4"), images.load("a?side=4")]);
    expect(a).toBe(b);
    expect(FakeImage.created).toHaveLength(1);
    expect(images.peek("a?side=4")).toBe(a);
    expect(images.has("a?side=4")).toBe(true);
  });

  it("drops the least recently used beyond its count", async () => {
    const images = cache(2, 1e9);
    await images.load("a");
    await images.load("b");
    await images.load("a"); // a is now the most recent
    await images.load("c");
    expect(images.has("a")).toBe(true);
    expect(images.has("b")).toBe(false);
    expect(images.has("c")).toBe(true);
  });

  it("drops old images beyond its pixel budget, never the one just loaded", async () => {
    const images = cache(100, 250);
    await images.load("a?side=10"); // 100 px
    await images.load("b?side=10"); // 200 px
    await images.load("c?side=10"); // 300 px: a goes
    expect([images.has("a?side=10"), images.has("b?side=10"), images.has("c?side=10")]).toEqual([false, true, true]);
    await images.load("huge?side=100"); // 10,000 px: everything else goes, it stays
    expect(images.has("huge?side=100")).toBe(true);
    expect(images.has("c?side=10")).toBe(false);
  });

  it("forgets a failed load so that it can be asked again", async () => {
    const images = cache(10, 1e9);
    await expect(images.load("missing")).rejects.toThrow(/did not load/);
    expect(images.has("missing", true)).toBe(false);
  });
});
