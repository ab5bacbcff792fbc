"""Blob stores: content-addressed bytes behind the :class:`BlobStore` protocol."""

from rmtc.blobs.protocol import BlobInfo, BlobStore

__all__ = ["BlobInfo", "BlobStore"]
