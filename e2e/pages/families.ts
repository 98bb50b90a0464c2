// The family oracle page: for one GGUF (served by e2e/families.spec.ts, made by
// src/engine/synthetic/families.ts), llama.cpp's greedy continuations and top-2 probabilities
// (wllama) and tabshard's on the CPU backend, the WebGPU backend and a 3-way CPU layer split, all
// in one page on the same bytes. The spec calls window.__oracle.run(job) once per file.
import { parseGguf } from '../../src/formats/gguf-reader.ts';
import { metaArray } from '../../src/formats/gguf-meta.ts';
import { runWllama, promptText, type OracleRun } from './families-wllama.ts';
import { runOurs, type OurRun, type OurRunSpec } from './families-ours.ts';

export interface OracleJob {
  url: string;
  /** Prompts as token ids (without BOS: both sides prepend it). */
  prompts: number[][];
  steps: number;
  nCtx: number;
  threads: number;
  topK?: number;
  flashAttn?: boolean;
  ours: Record<string, OurRunSpec>;
}

export interface PageError {
  name: string;
  message: string;
}

export interface OracleResult {
  llamacpp: OracleRun | { error: PageError };
  ours: Record<string, OurRun | { error: PageError }>;
}

const status = document.getElementById('status')!;
const out = document.getElementById('out')!;

const asError = (e: unknown): { error: PageError } => ({ error: { name: (e as Error).name, message: (e as Error).message } });

async function run(job: OracleJob): Promise<OracleResult> {
  status.textContent = `running ${job.url}`;
  const bytes = new Uint8Array(await (await fetch(job.url)).arrayBuffer());
  const pieces = metaArray(parseGguf(bytes), 'tokenizer.ggml.tokens')!.values as string[];
  let llamacpp: OracleResult['llamacpp'];
  try {
    llamacpp = await runWllama(bytes, job.prompts.map((p) => promptText(p, pieces)), job.prompts.map((p) => p.length), job);
  } catch (e) {
    llamacpp = asError(e);
  }
  const eog = 'eog' in llamacpp ? llamacpp.eog : [2];
  const ours: OracleResult['ours'] = {};
  for (const [name, spec] of Object.entries(job.ours)) {
    try {
      ours[name] = await runOurs(bytes, spec, job.prompts, job.steps, job.nCtx, eog);
    } catch (e) {
      ours[name] = asError(e);
    }
  }
  out.textContent += `${job.url}: ${JSON.stringify({ llamacpp: 'error' in llamacpp ? llamacpp.error : 'ok', ours: Object.keys(ours) })}\n`;
  status.textContent = 'ready';
  return { llamacpp, ours };
}

(window as unknown as { __oracle: { run: typeof run } }).__oracle = { run };
status.textContent = 'ready';
