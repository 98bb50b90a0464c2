// The ONNX protobuf classes (onnx-proto, a CommonJS package) behind a small typed facade: tensors,
// value infos, attributes and the model envelope. Used by the exporter (Node) and by the ort bench page (browser).
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

export const DT = onnx.TensorProto.DataType;
export type DataType = onnxProto.onnx.TensorProto.DataType;

/** A dimension: a fixed size or a symbolic name (transformers.js reads the names of cache dims). */
export type Dim = number | string;

export function valueInfo(name: string, elemType: DataType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function bytesOf(data: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  // rawData is little-endian, like every typed array on the platforms we run on.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function tensor(name: string, dataType: DataType, dims: readonly number[], data: Float32Array | BigInt64Array | Uint8Array): TensorProto {
  return { name, dataType, dims: [...dims], rawData: bytesOf(data) };
}

export type AttrValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] } | TensorProto;

/** Integers and int lists by default; floats must be wrapped ({float}, {floats}) to stay unambiguous. */
export function attribute(name: string, value: AttrValue): AttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: A.INT, i: value };
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: [...(value as number[])] };
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: A.FLOATS, floats: [...value.floats] };
  return { name, type: A.TENSOR, t: value as TensorProto };
}

export interface ModelParts {
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  /** Opset per domain ('' is ai.onnx). */
  opsets: Record<string, number>;
  graphName: string;
  metadata?: Record<string, string>;
}

/** IR version 8 (what onnx-proto 8 describes); onnxruntime reads it with any newer opset. */
export function encodeModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tabshard',
    producerVersion: '0.1.0',
    opsetImport: Object.entries(parts.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: parts.graphName,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
    metadataProps: Object.entries(parts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}
