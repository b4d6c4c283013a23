import { describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "../../src/api/client";

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("Api", () => {
  it("asks the units and Grad-CAM routes, and keeps a units history while its version holds", async () => {
    const fetchFn = vi.fn(async () => jsonResponse({}));
    const api = new Api(fetchFn);
    await api.units("r", "l", 2);
    await api.topImages("r", "l", 5, 2);
    await api.attribution("r", 3, 2);
    await api.attribution("r", 3, 2, "conv2");
    await api.classPairUnits("r", 2, 0, 1);
    await api.unitsHistory("r", "l", "0,2");
    await api.unitsHistory("r", "l", "0,2");
    await api.unitsHistory("r", "l", "0,2,4"); // a new checkpoint: asked again
    expect(fetchFn.mock.calls.map((call) => (call as unknown[])[0])).toEqual([
      "units?run=r&layer=l&step=2",
      "top_images?run=r&layer=l&unit=5&step=2",
      "attribution?run=r&image=3&step=2",
      "attribution?run=r&image=3&step=2&layer=conv2",
      "class_pair_units?run=r&step=2&a=0&b=1",
      "units_history?run=r&layer=l",
      "units_history?run=r&layer=l",
    ]);
    api.forgetRun("r");
    await api.unitsHistory("r", "l", "0,2,4");
    expect(fetchFn).toHaveBeenCalledTimes(8);
  });

  it("asks every JSON route at its relative URL", async () => {
    const fetchFn = vi.fn(async () => jsonResponse({}));
    const api = new Api(fetchFn);
    await api.index();
    await api.graph("r");
    await api.corpus("r");
    await api.thumbnailsLayout("r", "3,7,9");
    await api.filtersLayout("r", "l", 2, "layer");
    await api.filterValues("r", "l", 2, 6);
    await api.activationsLayout("r", "l", 2, 1, "channel");
    await api.predictions("r", 2);
    await api.prediction("r", 2, 7);
    await api.confusion("r", 2);
    await api.clusters("r", 2);
    await api.compare("r", { steps: "0,2", layers: "a:b", filters: "0:3", image: null });
    await api.compare("r", { steps: "2", layers: "a", image: 0, norm: "channel" });
    await api.dynamics("r", { stat: "mean", source: "gradients" });
    await api.dynamics("r", { layer: "a", points: 2 });
    expect(fetchFn.mock.calls.map((call) => (call as unknown[])[0])).toEqual([
      "index",
      "graph?run=r",
      "corpus?run=r",
      "thumbnails_layout?run=r&indices=3%2C7%2C9",
      "filters_layout?run=r&layer=l&step=2&norm=layer",
      "filter_values?run=r&layer=l&step=2&filter=6",
      "activations_layout?run=r&layer=l&step=2&image=1&norm=channel",
      "predictions?run=r&step=2",
      "predictions?run=r&step=2&image=7",
      "confusion?run=r&step=2",
      "clusters?run=r&step=2",
      "compare?run=r&steps=0%2C2&layers=a%3Ab&filters=0%3A3",
      "compare?run=r&steps=2&layers=a&image=0&norm=channel",
      "dynamics?run=r&stat=mean&source=gradients",
      "dynamics?run=r&layer=a&points=2",
    ]);
  });

  it("memoizes answers for an explicit step, not the listing", async () => {
    const fetchFn = vi.fn(async () => jsonResponse({ ok: 1 }));
    const api = new Api(fetchFn);
    await api.confusion("r", 2);
    await api.confusion("r", 2);
    await api.index();
    await api.index();
    expect(fetchFn).toHaveBeenCalledTimes(3);
    api.forgetRun("r");
    await api.confusion("r", 2);
    expect(fetchFn).toHaveBeenCalledTimes(4);
  });

  it("turns the server's JSON error into an ApiError, and forgets a failed request", async () => {
    const fetchFn = vi.fn(async () => jsonResponse({ error: "run 'x' has no step 3" }, 404));
    const api = new Api(fetchFn);
    await expect(api.confusion("x", 3)).rejects.toMatchObject({ status: 404, message: "run 'x' has no step 3" });
    await expect(api.confusion("x", 3)).rejects.toBeInstanceOf(ApiError);
    expect(fetchFn).toHaveBeenCalledTimes(2);
  });

  it("reports an unreachable server and a non-JSON error", async () => {
    const down = new Api(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(down.index()).rejects.toMatchObject({
      status: 0,
      message: expect.stringContaining("could not reach TensorBoard"),
    });
    const html = new Api(
      async () => new Response("<html>oops</html>", { status: 500, statusText: "Internal Server Error" }),
    );
    await expect(html.index()).rejects.toMatchObject({ status: 500, message: "500 Internal Server Error" });
  });
});
