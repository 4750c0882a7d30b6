import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RestartPolicy } from "../src/restartPolicy";

describe("RestartPolicy", () => {
  it("allows a few restarts, then stops", () => {
    let now = 0;
    const policy = new RestartPolicy(3, 60_000, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => policy.crashed()), [true, true, true, false]);
    assert.equal(policy.recentCrashes, 4);
    now = 1_000;
    assert.equal(policy.crashed(), false);
  });

  it("forgets crashes older than the window", () => {
    let now = 0;
    const policy = new RestartPolicy(2, 60_000, () => now);
    policy.crashed();
    policy.crashed();
    now = 61_000;
    assert.equal(policy.crashed(), true);
    assert.equal(policy.recentCrashes, 1);
  });
});
