// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { CorpusBrowser } from "../../src/panels/corpus_browser";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";

async function browser(page = 10) {
  const { ctx, store, fetch } = testContext();
  const container = place();
  const corpus = new CorpusBrowser(container, ctx, { page });
  corpus.setActive(true);
  await settle();
  const items = () => allByTestId(container, "corpus-item").map((item) => Number(item.getAttribute("data-index")));
  const status = () => byTestId(container, "corpus-status").textContent;
  return { container, corpus, store, fetch, items, status };
}

describe("CorpusBrowser", () => {
  it("shows a page of the eval images, and more on request", async () => {
    const { container, items, status } = await browser();
    expect(items()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(status()).toBe("48 of 48 eval images; showing 10. Click one to select it.");
    (container.querySelector("button.dv-button") as HTMLButtonElement).click();
    await settle();
    expect(items()).toHaveLength(20);
    expect(allByTestId(container, "corpus-item")[1].getAttribute("title")).toBe("#1 · <img src=x onerror=alert(1)>");
  });

  it("searches, and filters the misclassified and the probe images", async () => {
    const { container, items, status } = await browser(100);
    const search = byTestId(container, "corpus-search") as HTMLInputElement;
    search.value = "plain";
    search.dispatchEvent(new Event("input"));
    await settle(200);
    expect(items()).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47]);
    expect(status()).toContain("(matching “plain”)");
    search.value = "";
    search.dispatchEvent(new Event("input"));
    (byTestId(container, "corpus-misclassified") as HTMLInputElement).click();
    await settle(200);
    expect(items()).toEqual([5, 10, 15, 25, 30, 35, 45]);
    expect(status()).toContain("misclassified at step 6");
    (byTestId(container, "corpus-misclassified") as HTMLInputElement).click();
    (byTestId(container, "corpus-probes") as HTMLInputElement).click();
    await settle();
    expect(items()).toEqual([0, 1, 2, 3]);
  });

  it("selects an image on click and marks it", async () => {
    const { container, store } = await browser();
    allByTestId(container, "corpus-item")[4].click();
    expect(store.get().image).toBe(4);
    const selected = allByTestId(container, "corpus-item").filter(
      (item) => item.getAttribute("aria-selected") === "true",
    );
    expect(selected.map((item) => item.getAttribute("data-index"))).toEqual(["4"]);
  });

  it("says when the run logged no eval images, and asks nothing while hidden", async () => {
    const { corpus, store, fetch, status } = await browser();
    corpus.setActive(false);
    const before = fetched(fetch).length;
    store.set({ runs: [{ ...store.get().runs[0], kinds: ["weights"] }] });
    await settle();
    expect(fetched(fetch)).toHaveLength(before);
    corpus.setActive(true);
    await settle();
    expect(status()).toBe("Run <i>main</i> logged no eval images.");
  });
});
