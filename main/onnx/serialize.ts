/**
 * Serialises the core's ONNX object model (core/compile/onnx.ts) to the ONNX protobuf wire format with
 * `@bufbuild/protobuf` and `onnx-buf` (ONNX's own `onnx.proto3`, compiled by protoc-gen-es). Float
 * initializers go into `raw_data` (little-endian float32, as ONNX requires), int64 ones into `int64_data`.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import type { OnnxAttribute, OnnxInitializer, OnnxModelJs, OnnxValueInfo } from '../../core/index.js';

function littleEndianFloats(data: Float32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return bytes;
}

function tensor(t: OnnxInitializer): TensorProto {
  const dims = t.dims.map((d) => BigInt(d));
  if (t.dataType === 'int64') return create(TensorProtoSchema, { name: t.name, dims, dataType: TensorProto_DataType.INT64, int64Data: t.data.map((v) => BigInt(v)) });
  return create(TensorProtoSchema, { name: t.name, dims, dataType: TensorProto_DataType.FLOAT, rawData: littleEndianFloats(t.data) });
}

function attribute(a: OnnxAttribute): AttributeProto {
  switch (a.type) {
    case 'int':
      return create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.INT, i: BigInt(a.value) });
    case 'ints':
      return create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.INTS, ints: a.value.map((v) => BigInt(v)) });
    case 'float':
      return create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.FLOAT, f: a.value });
    case 'string':
      return create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(a.value) });
  }
}

function valueInfo(v: OnnxValueInfo): ValueInfoProto {
  const dim = v.shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } }),
  );
  const tensorType = create(TypeProto_TensorSchema, { elemType: v.elemType === 'int64' ? TensorProto_DataType.INT64 : TensorProto_DataType.FLOAT, shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, { name: v.name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

/** The `.onnx` file bytes (ModelProto) of the model. */
export function serializeOnnx(m: OnnxModelJs): Uint8Array {
  const graph = create(GraphProtoSchema, {
    name: m.graph.name,
    node: m.graph.nodes.map((n) => create(NodeProtoSchema, { name: n.name, opType: n.opType, input: n.inputs, output: n.outputs, attribute: n.attributes.map(attribute), ...(n.domain ? { domain: n.domain } : {}) })),
    initializer: m.graph.initializers.map(tensor),
    input: m.graph.inputs.map(valueInfo),
    output: m.graph.outputs.map(valueInfo),
  });
  // Every other domain a node names is imported at version 1 (onnxruntime's com.microsoft.nchwc has only 1).
  const domains = [...new Set(m.graph.nodes.map((n) => n.domain).filter((d): d is string => !!d))];
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(m.irVersion),
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(m.opset) }), ...domains.map((domain) => create(OperatorSetIdProtoSchema, { domain, version: 1n }))],
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    graph,
    metadataProps: Object.entries(m.metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
  return toBinary(ModelProtoSchema, model);
}
