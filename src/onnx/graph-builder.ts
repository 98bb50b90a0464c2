// A small imperative builder for ONNX graphs: each op() call appends a node and returns the names of
// its outputs, so the llama graph reads like the forward pass it computes. Names are unique by
// construction (a prefix plus a counter), which ONNX requires of every value in a graph.
import { attribute, DT, tensor, type AttrValue, type NodeProto, type TensorProto } from './proto.ts';

export interface OpOptions {
  /** Name of the (single) output; by default a fresh name from the op type. */
  out?: string;
  /** Number of outputs (default 1). */
  outputs?: number;
  domain?: string;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  private readonly int64Consts = new Map<string, string>();
  private readonly floatConsts = new Map<number, string>();
  /** Name scope for the nodes made next (e.g. `layers.3.attn`), kept in node names for profiling. */
  scope = '';

  private fresh(base: string): string {
    return `${this.scope ? `/${this.scope}/` : '/'}${base}_${this.counter++}`;
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string[] {
    const name = this.fresh(opType);
    const n = opts.outputs ?? 1;
    const outputs = n === 1 && opts.out ? [opts.out] : Array.from({ length: n }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({
      name,
      opType,
      domain: opts.domain ?? '',
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** op() for the common single-output case. */
  op1(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): string {
    return this.op(opType, inputs, attrs, opts)[0]!;
  }

  addFloat(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push(tensor(name, DT.FLOAT, dims, data));
    return name;
  }

  addUint8(name: string, dims: readonly number[], data: Uint8Array): string {
    this.initializers.push(tensor(name, DT.UINT8, dims, data));
    return name;
  }

  /** An int64 constant (shared: the same values give the same initializer). Scalars: dims []. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    let name = this.int64Consts.get(key);
    if (!name) {
      name = `const_i64_${this.int64Consts.size}`;
      this.initializers.push(tensor(name, DT.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v))));
      this.int64Consts.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant (shared). */
  float(value: number): string {
    let name = this.floatConsts.get(value);
    if (!name) {
      name = `const_f32_${this.floatConsts.size}`;
      this.initializers.push(tensor(name, DT.FLOAT, [], Float32Array.of(value)));
      this.floatConsts.set(value, name);
    }
    return name;
  }
}
