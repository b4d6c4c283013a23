import { describe, expect, it, vi } from "vitest";
import { Api } from "../../src/api/client";
import { ProbeImages } from "../../src/api/probes";
import { runSummary } from "../helpers";

function probes(fail = false) {
  const fetchFn = vi.fn(async (url: string) =>
    fail
      ? new Response(JSON.stringify({ error: "no" }), { status: 500 })
      : new Response(
          JSON.stringify({ step: Number(new URLSearchParams(url.split("?")[1]).get("step")), probe_images: [3, 1] }),
        ),
  );
  return { fetchFn, cache: new ProbeImages(new Api(fetchFn)) };
}

describe("ProbeImages", () => {
  it("asks once per run, at the given step when it has predictions, else at the latest", async () => {
    const { fetchFn, cache } = probes();
    const run = runSummary();
    expect(cache.peek(run).size).toBe(0);
    const [a, b] = await Promise.all([cache.load(run, 3), cache.load(run, 3)]);
    expect([...a]).toEqual([3, 1]);
    expect(b).toBe(a);
    expect(await cache.load(run, 2)).toBe(a);
    expect(cache.peek(run)).toBe(a);
    expect(fetchFn.mock.calls.map((call) => call[0])).toEqual(["predictions?run=main&step=6"]);
    await cache.load(runSummary({ run: "other" }), 2);
    expect(fetchFn.mock.calls.map((call) => call[0])).toContain("predictions?run=other&step=2");
  });

  it("knows none for a run without predictions, without asking", async () => {
    const { fetchFn, cache } = probes();
    expect((await cache.load(runSummary({ steps_by_kind: {} }))).size).toBe(0);
    expect(fetchFn).not.toHaveBeenCalled();
  });

  it("asks again after a failure", async () => {
    const { fetchFn, cache } = probes(true);
    await expect(cache.load(runSummary())).rejects.toThrow("no");
    await expect(cache.load(runSummary())).rejects.toThrow("no");
    expect(fetchFn).toHaveBeenCalledTimes(2);
  });
});
