"""Compatibility path: :class:`DBNAutoencoder` lives in :mod:`rbmlib.deep.autoencoder`."""

from .deep.autoencoder import DBNAutoencoder

__all__ = ["DBNAutoencoder"]
