"""Language-model pretraining (ULMFiT-style): `model.py` the network, `pretrain.py` the loop and
the encoder folder it writes, which `model.init_encoder` turns into a classifier's starting point."""
