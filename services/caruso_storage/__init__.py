"""caruso_storage: the storage manager and business object modeler (interface ``caruso.storage/1``).

A model file (docs/model-format.md) maps business objects onto new or existing
tables of one or more databases; :class:`~caruso_storage.service.StorageManager`
serves them (docs/storage.md).

Public: ``caruso_storage.describe`` (a model's metadata as ``describe()`` answers it, also
read from model files without a running service) and ``caruso_storage.counting`` (storing a
value once, counting it when it comes again, through any storage client). Other components
import nothing else of this package.
"""

PUBLIC_MODULES = ("caruso_storage.describe", "caruso_storage.counting")
