// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { createTimeline, FrameGate, Prefetcher, stepFraction } from "../../src/core/timeline";
import { allByTestId, byTestId, testContext } from "../context";
import { FAKE_RUN, fakeFindings } from "../fake_server";

describe("stepFraction", () => {
  it("places a step along the slider, between its checkpoints' places", () => {
    const checkpoints = [0, 10, 20, 40];
    expect(stepFraction(checkpoints, 0)).toBe(0);
    expect(stepFraction(checkpoints, 10)).toBeCloseTo(1 / 3);
    expect(stepFraction(checkpoints, 30)).toBeCloseTo(2.5 / 3);
    expect(stepFraction(checkpoints, 5)).toBeCloseTo(0.5 / 3);
    expect(stepFraction(checkpoints, -3)).toBe(0);
    expect(stepFraction(checkpoints, 99)).toBe(1);
    expect(stepFraction([7], 7)).toBe(0);
    expect(stepFraction([], 7)).toBe(0);
  });
});

describe("Timeline: findings", () => {
  function timeline() {
    const { store } = testContext();
    const element = createTimeline({
      store,
      gate: new FrameGate(),
      prefetcher: new Prefetcher(
        async () => 0,
        async () => 0,
      ),
    });
    document.body.appendChild(element);
    return { store, element, ticks: () => allByTestId(element, "timeline-finding") };
  }

  it("marks the steps where findings start, coloured by the worst, titled with their messages", () => {
    const { store, element, ticks } = timeline();
    expect(ticks()).toHaveLength(0);
    expect(byTestId(element, "timeline-findings").parentElement?.contains(byTestId(element, "timeline-slider"))).toBe(
      true,
    );
    store.set({ findings: fakeFindings(FAKE_RUN.run) });
    const marks = ticks();
    expect(marks.map((mark) => `${mark.getAttribute("data-step")}:${mark.getAttribute("data-severity")}`)).toEqual([
      "0:info",
      "2:error",
      "4:warning",
    ]);
    expect(marks[1].classList.contains("dv-sev-error")).toBe(true);
    expect(marks[1].title.split("\n")).toEqual([
      "from step 2:",
      "error (steps 2–6): conv1: its weights first held NaN or Inf at step 2, before any other layer's",
      `warning (steps 2–6): ${fakeFindings(FAKE_RUN.run).findings[1].message}`,
    ]);
    expect(marks.map((mark) => mark.getAttribute("data-position"))).toEqual(["0.0000", "0.3333", "0.6667"]);
    // A tick moves the timeline to where its findings show.
    marks[2].click();
    expect(store.get().step).toBe(4);
    // Another run: its own findings (none arrived yet).
    store.set({ run: "other", runs: [...store.get().runs, { ...FAKE_RUN, run: "other" }] });
    expect(ticks()).toHaveLength(0);
  });

  it("puts a finding between checkpoints between their places, and moves to the checkpoint after it", () => {
    const { store, ticks } = timeline();
    const [nan] = fakeFindings(FAKE_RUN.run).findings;
    store.set({ findings: { run: FAKE_RUN.run, findings: [{ ...nan, step: 3 }] } });
    expect(ticks()[0].getAttribute("data-position")).toBe("0.5000");
    store.set({ step: 0, playing: true });
    ticks()[0].click();
    expect([store.get().step, store.get().playing]).toEqual([4, false]);
  });
});
