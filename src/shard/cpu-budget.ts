// The memory budget of a CPU participant: its weights live in one wasm32 memory (the WASM backend,
// src/engine/wasm), which cannot grow past 4 GiB, less what the backend keeps there besides weights
// (the module's stack and statics below __heap_base, 64-byte alignment of each tensor, and the
// per-call scratch reserve that checkFits adds). A range planned within this budget is one the
// backend's checkFits accepts, so a model beyond 4 GiB is split across CPU tabs instead of refused.
//
// The planner's budget covers weights + KV together, while the WASM backend keeps its KV cache in
// JS memory, outside the 4 GiB: counting KV here errs on the side of smaller ranges (at the
// default q8 cache and 4k context that is a few MiB per layer), never on the side of a refused load.
//
// Weight types without a WASM kernel (Q4_1, Q5_0, Q5_1, BF16) are widened to F32 at load, which the
// planner's byte counts (file bytes) do not see; such a range can still be refused by checkFits.
import { SCRATCH_RESERVE } from '../engine/wasm/load.ts';
import { WASM_MAX_BYTES } from '../engine/wasm/runtime.ts';

/** Room for the module's own data below __heap_base and per-tensor alignment (test/shard/cpu-budget.test.ts checks the heap base fits). */
export const WASM_HEAP_ALLOWANCE = 2 ** 20;

/** Bytes of layers (weights, and KV as the planner counts it) one CPU participant can hold. */
export const CPU_PARTICIPANT_BUDGET = WASM_MAX_BYTES - SCRATCH_RESERVE - WASM_HEAP_ALLOWANCE;
