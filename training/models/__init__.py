"""The Stage 2 variational policy: prior, encoder, decoder and the hypersphere latent."""
