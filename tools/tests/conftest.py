import os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import torch
torch.set_num_threads(1)  # tiny models: intra-op threading only adds overhead (badly so on a loaded box)
