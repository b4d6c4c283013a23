import { describe, expect, it } from "vitest";
import {
  activationsUrl,
  buildQuery,
  confusionUrl,
  filtersUrl,
  predictionsUrl,
  thumbnailsUrl,
  thumbnailUrl,
  topImagesSpriteUrl,
} from "../../src/api/urls";

describe("buildQuery", () => {
  it("keeps the order given and leaves out empty values", () => {
    expect(buildQuery("filters", { run: "a", layer: "conv1", step: 0, norm: "filter", filters: undefined })).toBe(
      "filters?run=a&layer=conv1&step=0&norm=filter",
    );
    expect(buildQuery("index")).toBe("index");
    expect(buildQuery("x", { a: null, b: "" })).toBe("x");
  });
  it("escapes names with URL syntax in them", () => {
    expect(buildQuery("graph", { run: "exp 1/a&b=c#d" })).toBe("graph?run=exp+1%2Fa%26b%3Dc%23d");
    expect(new URLSearchParams(buildQuery("graph", { run: "exp 1/a&b=c#d" }).split("?")[1]).get("run")).toBe(
      "exp 1/a&b=c#d",
    );
  });
});

describe("route URLs", () => {
  it("builds the image routes' URLs", () => {
    expect(filtersUrl("r", "l", 4, "global")).toBe("filters?run=r&layer=l&step=4&norm=global");
    expect(filtersUrl("r", "l", 4, "filter", "0:7")).toBe("filters?run=r&layer=l&step=4&norm=filter&filters=0%3A7");
    expect(activationsUrl("r", "l", 4, 12, "layer")).toBe("activations?run=r&layer=l&step=4&image=12&norm=layer");
    expect(thumbnailUrl("r", 5)).toBe("thumbnail?run=r&index=5");
    expect(thumbnailsUrl("r", "0:255", 16)).toBe("thumbnails?run=r&indices=0%3A255&columns=16");
    // the URL a top_images answer names as its `sprite`, so prefetching and showing share one
    expect(topImagesSpriteUrl("r 1", "conv1", 3, 8)).toBe("top_images_sprite?run=r+1&layer=conv1&unit=3&step=8");
    expect(topImagesSpriteUrl("r", "l", 0, 2, 64)).toBe("top_images_sprite?run=r&layer=l&unit=0&step=2&size=64");
  });
  it("builds the JSON URLs the views prefetch", () => {
    expect(predictionsUrl("r", 2)).toBe("predictions?run=r&step=2");
    expect(predictionsUrl("r", 2, 0)).toBe("predictions?run=r&step=2&image=0");
    expect(confusionUrl("r", 2)).toBe("confusion?run=r&step=2");
  });
});
