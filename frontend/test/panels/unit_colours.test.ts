// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { unitColour } from "../../src/lib/colours";
import { FilterBank } from "../../src/panels/filter_bank";
import { UnitColours } from "../../src/panels/unit_colours";
import { h, Status } from "../../src/ui/dom";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { DEAD_UNIT, FAKE_RUN, fakeClassMeans, fakeSelectivity, NAMES } from "../fake_server";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function coloured(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ unitColours: true, ...state });
  const container = place();
  let colours: UnitColours | null = null;
  const bank = new FilterBank(container, ctx, {
    status: new Status(),
    info: h("div"),
    onDrawn: () => colours?.update(),
  });
  colours = new UnitColours(bank, ctx);
  container.appendChild(colours.legend);
  bank.setActive(true);
  colours.setActive(true);
  await settle();
  const tints = () => allByTestId(container, "unit-colours")[0];
  return { ctx, store, fetch, container, bank, colours, tints };
}

describe("UnitColours", () => {
  it("washes each filter's tile with its unit's colour: hue the top class, saturation the selectivity", async () => {
    const { tints, fetch, container } = await coloured();
    expect(fetched(fetch)).toContain(`units?run=${RUN}&layer=conv1&step=6`);
    const layer = tints();
    expect(layer.hidden).toBe(false);
    expect(layer.getAttribute("data-step")).toBe("6");
    const tiles = [...layer.children] as HTMLElement[];
    expect(tiles.map((tile) => tile.getAttribute("data-unit"))).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
    for (const tile of tiles) {
      const unit = Number(tile.getAttribute("data-unit"));
      const [selectivity, top] = fakeSelectivity(fakeClassMeans("conv1", unit, 6));
      expect(tile.getAttribute("data-top-class")).toBe(String(top));
      expect(Number(tile.getAttribute("data-selectivity"))).toBeCloseTo(selectivity, 6);
      expect(tile.getAttribute("data-colour")).toBe(unitColour(top, selectivity));
      if (unit !== DEAD_UNIT) expect(tile.style.boxShadow).toContain(unitColour(top, selectivity));
    }
    // a tile's box in shares of the sprite: tile 4 is at row 1, column 1 (pitch 17 + 2 of 55 px)
    expect([tiles[4].style.left, tiles[4].style.top, tiles[4].style.width]).toEqual([
      `${((19 / 55) * 100).toFixed(4)}%`,
      `${((19 / 55) * 100).toFixed(4)}%`,
      `${((17 / 55) * 100).toFixed(4)}%`,
    ]);
    // the legend names the classes as text
    const legend = byTestId(container, "unit-colours-legend");
    expect(legend.hidden).toBe(false);
    expect(legend.textContent).toContain(NAMES[1]);
    expect(legend.querySelector("img, b")).toBeNull();
    expect(legend.textContent).toContain("dead (1 of 8)");
  });

  it("marks dead units", async () => {
    const { tints } = await coloured();
    const dead = [...tints().querySelectorAll<HTMLElement>(".dv-unit-dead")];
    expect(dead.map((tile) => tile.getAttribute("data-unit"))).toEqual([String(DEAD_UNIT)]);
    expect(dead[0].getAttribute("data-dead")).toBe("true");
    expect(dead[0].title).toContain("dead");
  });

  it("follows the sprite's checkpoint, prefetches the next ones' units, and turns off", async () => {
    const { tints, store, ctx, colours } = await coloured();
    store.set({ step: 2 });
    await settle();
    expect(tints().getAttribute("data-step")).toBe("2");
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 1, 1).map((item) => item.url)).toContain(
      `units?run=${RUN}&layer=conv1&step=4`,
    );
    store.set({ unitColours: false });
    await settle();
    expect(tints().hidden).toBe(true);
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 1, 1).map((item) => item.url)).not.toContain(
      `units?run=${RUN}&layer=conv1&step=4`,
    );
    colours.setActive(false);
  });

  it("says when the layer has no unit records", async () => {
    const { tints, store, container } = await coloured();
    store.set({ layer: "bn1" });
    await settle();
    expect(tints().hidden).toBe(true);
    expect(byTestId(container, "unit-colours-legend").textContent).toBe(
      "Layer bn1 has no unit records to colour its filters by.",
    );
  });
});

describe("FilterBank with units", () => {
  it("opens the unit of a clicked filter when its layer has unit records", async () => {
    const { bank, store } = await coloured();
    bank.stage.pixelAt = () => ({ x: 20, y: 1 }); // in filter 1's tile
    bank.stage.image.dispatchEvent(new MouseEvent("click"));
    expect([store.get().filter, store.get().unit]).toEqual([1, 1]);
    bank.stage.image.dispatchEvent(new MouseEvent("click"));
    expect([store.get().filter, store.get().unit]).toEqual([null, null]);
  });
});
