"""Converters from foreign checkpoint formats to minigrad's HDF5 weights layout.

* :mod:`.detect`        -- format from the first bytes
* :mod:`.safe_unpickle` -- allowlisted unpickler for PyTorch state dicts (no code runs)
* :mod:`.torch_pth`     -- ``.pth`` zip and legacy containers
* :mod:`.keras_h5`      -- Keras VGG16 ``.h5`` (HWIO kernels, channels-last fc1)
* :mod:`.protobuf` / :mod:`.caffe` -- Caffe ``.caffemodel``
* :mod:`.convert`       -- :func:`convert`: read, map to the architecture's keys, write, validate
"""
from models.convert.errors import ConversionError, UnsafeCheckpointError
from models.convert.detect import FORMATS, detect_format
