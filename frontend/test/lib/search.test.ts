import { describe, expect, it } from "vitest";
import type { CorpusResponse } from "../../src/api/types";
import { className, searchCorpus } from "../../src/lib/search";

const corpus: CorpusResponse = {
  count: 6,
  class_names: ["airplane", "cat", 'dog & "friends"', "<b>bird</b>"],
  labels: [0, 1, 2, 3, 1, 0],
  ids: ["img-000", "img-001", "x17", "img-003", "img-004", "plane-5"],
  captions: ["a plane in the sky", "", "two dogs", "", "a cat", "jet"],
  thumbnail_shape: [8, 8, 3],
};

describe("searchCorpus", () => {
  it("finds by class name, case-insensitively, and by any word of it", () => {
    expect(searchCorpus(corpus, "PLANE")).toEqual([0, 5]); // class "airplane" and caption/id
    expect(searchCorpus(corpus, "cat")).toEqual([1, 4]);
    expect(searchCorpus(corpus, "dog friends")).toEqual([2]);
    expect(searchCorpus(corpus, "<b>")).toEqual([3]);
  });
  it("finds by label, index, id and caption", () => {
    expect(searchCorpus(corpus, "label:1")).toEqual([1, 4]);
    expect(searchCorpus(corpus, "class:cat")).toEqual([1, 4]);
    expect(searchCorpus(corpus, "#3")).toEqual([3]);
    expect(searchCorpus(corpus, "id:x17")).toEqual([2]);
    expect(searchCorpus(corpus, "sky")).toEqual([0]);
    expect(searchCorpus(corpus, "2")).toEqual([2]); // label 2 or index 2
  });
  it("keeps all for an empty query, and filters misclassified or chosen images", () => {
    expect(searchCorpus(corpus, "  ")).toEqual([0, 1, 2, 3, 4, 5]);
    expect(searchCorpus(corpus, "", { misclassifiedBy: [0, 2, 2, 3, 1, 1] })).toEqual([1, 5]);
    expect(searchCorpus(corpus, "cat", { misclassifiedBy: [0, 2, 2, 3, 1, 1] })).toEqual([1]);
    expect(searchCorpus(corpus, "", { only: new Set([4, 2]) })).toEqual([2, 4]);
  });
  it("works without ids and captions", () => {
    const bare = { ...corpus, ids: null, captions: null };
    expect(searchCorpus(bare, "sky")).toEqual([]);
    expect(searchCorpus(bare, "dog")).toEqual([2]);
  });
  it("names classes, falling back to the number", () => {
    expect(className(corpus.class_names, 1)).toBe("cat");
    expect(className([], 7)).toBe("7");
  });
});
