import { describe, expect, it } from "vitest";
import { Api } from "../../src/api/client";
import { refreshIndex } from "../../src/core/poll";
import { Store } from "../../src/core/store";
import { FAKE_RUN, fakeFetch } from "../fake_server";

describe("refreshIndex", () => {
  it("opens a link's step between two checkpoints at the later one, once the first listing arrives", async () => {
    const store = new Store({ run: FAKE_RUN.run, step: 3, view: "dynamics" }); // from a finding's link
    await refreshIndex(store, new Api(fakeFetch()));
    expect(store.get()).toMatchObject({ loaded: true, run: FAKE_RUN.run, step: 4 });
  });

  it("keeps the nearest checkpoint for a step that no longer exists in a later listing", async () => {
    const store = new Store({ run: FAKE_RUN.run, loaded: true, runs: [FAKE_RUN], step: 3 });
    await refreshIndex(store, new Api(fakeFetch()));
    expect(store.get().step).toBe(2);
  });
});
