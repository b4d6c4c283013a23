"""The contract between writer and server: plugin metadata, record byte layout, quantization codes.

Imports numpy and protobuf only: no torch, no TensorBoard server code (docs/ARCHITECTURE.md).
"""
