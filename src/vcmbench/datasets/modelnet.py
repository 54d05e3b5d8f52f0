"""ModelNet40 and ModelNet10 point clouds from the user's own copy, in the three layouts people have.

* ``modelnet40_ply_hdf5_2048`` (PointNet's release): ``ply_data_{train,test}<k>.h5`` with datasets
  ``data`` (N×2048×3) and ``label`` (N×1), class names in ``shape_names.txt``. Read with h5py.
* ``modelnet40_normal_resampled`` (PointNet++'s release): one ``<class>/<class>_<nnnn>.txt`` per
  shape (10,000 lines ``x,y,z,nx,ny,nz``), split lists ``modelnet40_{train,test}.txt`` and class
  names ``modelnet40_shape_names.txt``; the ModelNet10 lists (``modelnet10_*.txt``) sit in the
  same folder. Read with pandas, only the first ``points`` rows of each file.
* the original meshes: ``ModelNet40/<class>/{train,test}/*.off``. Read with trimesh; ``points``
  points are sampled uniformly on each surface with a seed derived from (``seed``, file name), so
  the same files always give the same clouds. Class index = position in the sorted class names.

The first ``points`` points of each stored cloud are used (the PointNet and PointNet++ data
loaders do the same), then every cloud is centred and scaled into the unit sphere. Shapes from
the text and mesh layouts are put in a fixed pseudo-random order (seed 0), so ``--limit N``
takes a mix of classes rather than the first class; the HDF5 files are already shuffled.

Labels and ids are read when the split is opened; the clouds are read (and checked) on first
use. The content fingerprint covers the clouds read (HDF5, text) or, for meshes, every file's
bytes with the sampling settings, so naming a mesh split (as every run does for its training
split) does not sample thousands of meshes; meshes are sampled one by one as they are asked for,
so ``--limit 100`` samples 100 of them.
Every problem (a file without ``data``/``label``, mismatched lengths, an OFF file without faces
or with NaN coordinates, an empty class folder, fewer points than asked) is one DataError that
names the file. Benchmark id ``modelnet40`` (``modelnet10``) only for a complete split at 1,024
points; otherwise the id says what it is (``modelnet40-test-120pc``, ``modelnet40-2048pt``).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.dataset import Dataset, DatasetInfo, register_dataset
from vcmbench.datasets.pointclouds import (
    DEFAULT_POINTS,
    check_points_param,
    normalize_cloud,
    point_cloud_info,
)
from vcmbench.errors import DataError, UsageError

SPLITS = ("train", "test")
# Complete splits: PointNet's HDF5 release has 9,840 training clouds, the other layouts 9,843.
FULL_SIZES = {"modelnet40": {"train": {9840, 9843}, "test": {2468}},
              "modelnet10": {"train": {3991}, "test": {908}}}
NUM_CLASSES = {"modelnet40": 40, "modelnet10": 10}
MESH_FOLDERS = {"modelnet40": "ModelNet40", "modelnet10": "ModelNet10"}  # what the zip files unpack to
ORDER_SEED = 0
SAMPLER_VERSION = 1  # bump when sample_mesh changes what it returns for the same file

OBTAIN = ("ModelNet is not bundled and never downloaded: get modelnet40_ply_hdf5_2048.zip (PointNet), "
          "modelnet40_normal_resampled.zip (PointNet++) or ModelNet40.zip / ModelNet10.zip "
          "(https://modelnet.cs.princeton.edu/) and pass the unpacked folder as --data-root; "
          "without --data-root the modelnet40 suite runs on the embedded shapes-synth-16 set")


def layout_text(name: str) -> str:
    return (f"expected DIR/ply_data_{{train,test}}*.h5 with shape_names.txt ({name}_ply_hdf5_2048), "
            f"DIR/{name}_shape_names.txt with {name}_{{train,test}}.txt and <class>/*.txt "
            f"(modelnet40_normal_resampled), or DIR/<class>/{{train,test}}/*.off "
            f"({MESH_FOLDERS[name]})")


@dataclass
class SplitIndex:
    """What is known before any cloud is read: ids, labels, class names, and how to read the clouds."""

    ids: list[str]
    labels: np.ndarray
    class_names: tuple[str, ...]
    load: Callable[[], np.ndarray]  # -> (N, points, 3) float32, normalised; DataError on bad input
    layout: str
    # The content fingerprint without reading the clouds (meshes: their files' bytes and the
    # sampling settings); None: computed over the clouds read.
    fingerprint: Callable[[], str] | None = None
    # One cloud by position, for layouts whose clouds are costly to make (meshes are sampled):
    # a run on the first N samples then samples N meshes, not the whole split.
    load_one: Callable[[int], np.ndarray] | None = None


class ModelNetDataset:
    """One split: ids and labels now, clouds (and so the content fingerprint) on first use."""

    def __init__(self, name: str, split: str, points: int, index: SplitIndex):
        self.name, self.split, self.points, self.index = name, split, points, index
        self._clouds: np.ndarray | None = None
        self._info: DatasetInfo | None = None
        self._some: dict[int, np.ndarray] = {}  # clouds made one by one (load_one), by position

    def clouds(self) -> np.ndarray:
        """Every cloud of the split, read (or sampled) and checked."""
        if self._clouds is None:
            if self.index.load_one is not None:
                clouds = np.stack([self._one(i) for i in range(len(self))])
                self._some.clear()
            else:
                clouds = self.index.load()
            clouds.setflags(write=False)
            self._clouds = clouds
        return self._clouds

    @property
    def info(self) -> DatasetInfo:
        if self._info is None:
            if self.index.fingerprint is None:
                self._info = point_cloud_info(self.benchmark_id(), self.split, self.clouds(),
                                              self.index.labels, self.index.class_names)
            else:
                self._info = DatasetInfo(
                    id=self.benchmark_id(), split=self.split, num_classes=len(self.index.class_names),
                    fingerprint=self.index.fingerprint(), input_kind="point_cloud",
                    points_per_sample=self.points, class_names=self.index.class_names)
        return self._info

    def benchmark_id(self) -> str:
        n = len(self)
        classes = len(self.index.class_names)
        full = n in FULL_SIZES[self.name][self.split] and classes == NUM_CLASSES[self.name]
        base = self.name if full else f"{self.name}-{self.split}-{n}pc"
        return base if self.points == DEFAULT_POINTS else f"{base}-{self.points}pt"

    def __len__(self) -> int:
        return len(self.index.ids)

    def ids(self) -> Sequence[str]:
        return self.index.ids

    def labels(self) -> np.ndarray:
        return self.index.labels

    def inputs(self, indices: Sequence[int]) -> list[np.ndarray]:
        if self._clouds is None and self.index.load_one is not None:
            return [self._one(i) for i in indices]
        clouds = self.clouds()
        return [clouds[i] for i in indices]

    def _one(self, i: int) -> np.ndarray:
        if i not in self._some:
            cloud = self.index.load_one(i)
            cloud.setflags(write=False)
            self._some[i] = cloud
        return self._some[i]


# --- shared helpers --------------------------------------------------------------------------------

def _read_names(path: Path) -> list[str]:
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
    if len(set(names)) != len(names):
        raise DataError(f"{path}: a name appears twice")
    return names


def _check_classes(names: Sequence[str], name: str, where: Path) -> None:
    if len(names) < 2:
        raise DataError(f"{where}: {len(names)} class name(s); a classification set needs at least 2")
    expected = NUM_CLASSES[name]
    if name == "modelnet10" and len(names) != expected:
        raise DataError(f"{where}: {len(names)} classes, but ModelNet10 has {expected}")
    if len(names) > expected:
        raise DataError(f"{where}: {len(names)} classes, but {name} has {expected}")


def _check_cloud(cloud: np.ndarray, points: int, where: str) -> np.ndarray:
    """The first ``points`` points of a stored cloud, normalised; DataError naming ``where``."""
    if cloud.ndim != 2 or cloud.shape[1] < 3:
        raise DataError(f"{where}: expected points × 3 coordinates, got shape {cloud.shape}")
    if cloud.shape[0] < points:
        raise DataError(f"{where}: holds {cloud.shape[0]} points, fewer than the {points} asked "
                        f"(lower the dataset parameter points)")
    xyz = cloud[:points, :3]
    if not np.isfinite(xyz).all():
        raise DataError(f"{where}: NaN or infinite coordinates")
    return normalize_cloud(xyz)


def _mixed_order(n: int) -> np.ndarray:
    """A fixed permutation, so the first samples of a class-grouped list mix the classes."""
    return np.random.default_rng(ORDER_SEED).permutation(n)


# --- layout 1: PointNet's HDF5 files ----------------------------------------------------------------

def _natural_key(path: Path) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


def find_hdf5(dirs: Sequence[Path], split: str) -> list[Path]:
    for folder in dirs:
        files = sorted(folder.glob(f"ply_data_{split}*.h5"), key=_natural_key) if folder.is_dir() else []
        if files:
            return files
    return []


def _h5_arrays(path: Path, points: int | None) -> tuple[np.ndarray | None, np.ndarray]:
    """(the first ``points`` xyz of every cloud, or None when ``points`` is None; labels) of one file."""
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            missing = [k for k in ("data", "label") if k not in fh]
            if missing:
                raise DataError(f"{path}: no {' or '.join(repr(k) for k in missing)} dataset in this HDF5 "
                                f"file (PointNet's files hold 'data' N×2048×3 and 'label' N×1)")
            labels = np.asarray(fh["label"][()])
            shape = fh["data"].shape
            if len(shape) != 3 or shape[2] < 3:
                raise DataError(f"{path}: 'data' must be clouds × points × 3, got shape {shape}")
            if points is not None and shape[1] < points:
                raise DataError(f"{path}: holds clouds of {shape[1]} points, fewer than the {points} asked "
                                f"(lower the dataset parameter points)")
            data = None if points is None else np.asarray(fh["data"][:, :points, :3], dtype=np.float64)
    except DataError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]})") from exc
    labels = labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: 'label' must hold one integer per cloud, got {labels.dtype} {labels.shape}")
    if shape[0] != len(labels):
        raise DataError(f"{path}: 'data' holds {shape[0]} clouds but 'label' holds {len(labels)} labels")
    return data, labels.astype(np.int64)


def index_hdf5(files: list[Path], split: str, points: int, name: str) -> SplitIndex:
    folder = files[0].parent
    names_file = folder / "shape_names.txt"
    if not names_file.is_file():
        raise DataError(f"{names_file} not found: the class names must sit beside the HDF5 files")
    class_names = _read_names(names_file)
    _check_classes(class_names, name, names_file)
    ids, labels = [], []
    for path in files:
        _, file_labels = _h5_arrays(path, None)
        if len(file_labels) and (file_labels.min() < 0 or file_labels.max() >= len(class_names)):
            raise DataError(f"{path}: label {int(file_labels.max())} outside 0..{len(class_names) - 1} "
                            f"({len(class_names)} names in {names_file})")
        ids += [f"{path.stem}/{row}" for row in range(len(file_labels))]
        labels.append(file_labels)

    def load() -> np.ndarray:
        out = []
        for path in files:
            data, _ = _h5_arrays(path, points)
            out += [_check_cloud(c, points, f"{path} cloud {row}") for row, c in enumerate(data)]
        return np.stack(out)

    return SplitIndex(ids, np.concatenate(labels), tuple(class_names), load, "hdf5")


# --- layout 2: PointNet++'s resampled text files ------------------------------------------------------

def find_resampled(dirs: Sequence[Path], name: str) -> Path | None:
    return next((d for d in dirs if (d / f"{name}_shape_names.txt").is_file()), None)


def read_txt_cloud(path: Path, points: int) -> np.ndarray:
    """The first ``points`` rows (x, y, z of ``x,y,z,nx,ny,nz``) of one resampled shape file."""
    import pandas as pd

    try:
        with path.open("rb") as fh:
            comma = b"," in fh.readline()
        table = pd.read_csv(path, header=None, nrows=points, usecols=[0, 1, 2], dtype=np.float64,
                            sep="," if comma else r"\s+")
    except FileNotFoundError as exc:
        raise DataError(f"{path}: listed in the split file but missing") from exc
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not rows of comma-separated numbers ({str(exc).splitlines()[0]})") from exc
    return _check_cloud(table.to_numpy(), points, str(path))


def index_resampled(folder: Path, split: str, points: int, name: str) -> SplitIndex:
    names_file, list_file = folder / f"{name}_shape_names.txt", folder / f"{name}_{split}.txt"
    class_names = _read_names(names_file)
    _check_classes(class_names, name, names_file)
    if not list_file.is_file():
        raise DataError(f"{list_file} not found: the {split} split's shape list must sit beside "
                        f"{names_file.name}")
    shape_ids = _read_names(list_file)
    if not shape_ids:
        raise DataError(f"{list_file}: lists no shapes")
    labels, paths = [], []
    for shape in shape_ids:
        cls = shape.rsplit("_", 1)[0]
        if cls not in class_names:
            raise DataError(f"{list_file}: shape {shape!r} belongs to no class of {names_file.name}")
        labels.append(class_names.index(cls))
        paths.append(folder / cls / f"{shape}.txt")
    order = _mixed_order(len(shape_ids))

    def load() -> np.ndarray:
        return np.stack([read_txt_cloud(paths[i], points) for i in order])

    return SplitIndex([shape_ids[i] for i in order], np.asarray(labels, dtype=np.int64)[order],
                      tuple(class_names), load, "resampled")


# --- layout 3: the original OFF meshes ---------------------------------------------------------------

def find_meshes(dirs: Sequence[Path]) -> Path | None:
    for folder in dirs:
        if folder.is_dir() and any((d / s).is_dir() for d in _class_dirs(folder) for s in SPLITS):
            return folder
    return None


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def sample_mesh(path: Path, points: int, seed: int) -> np.ndarray:
    """``points`` points uniformly on an OFF mesh's surface, seeded by (seed, file name)."""
    import trimesh

    try:
        mesh = trimesh.load(path, file_type="off", force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for malformed files
        raise DataError(f"{path}: not a readable OFF mesh ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'malformed'})") from exc
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))))
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))))
    if not len(faces):
        raise DataError(f"{path}: the mesh has no faces, so there is no surface to sample points on")
    if not np.isfinite(vertices).all():
        raise DataError(f"{path}: NaN or infinite vertex coordinates")
    if not mesh.area > 0:
        raise DataError(f"{path}: the mesh's faces have zero total area")
    rng = np.random.default_rng([seed, zlib.crc32(path.name.encode())])
    sampled, _ = trimesh.sample.sample_surface(mesh, points, seed=rng)
    return _check_cloud(np.asarray(sampled), points, str(path))


def index_meshes(folder: Path, split: str, points: int, name: str, seed: int) -> SplitIndex:
    classes = _class_dirs(folder)
    class_names = [c.name for c in classes]
    _check_classes(class_names, name, folder)
    files, labels = [], []
    for label, cls in enumerate(classes):
        split_dir = cls / split
        meshes = sorted(split_dir.glob("*.off")) if split_dir.is_dir() else []
        if not meshes:
            raise DataError(f"class folder {split_dir} holds no .off meshes; restore them or remove "
                            f"the class")
        files += meshes
        labels += [label] * len(meshes)
    order = _mixed_order(len(files))
    ordered = [files[i] for i in order]
    ordered_labels = np.asarray(labels, dtype=np.int64)[order]

    def load_one(i: int) -> np.ndarray:
        return sample_mesh(ordered[i], points, seed)

    def load() -> np.ndarray:
        return np.stack([load_one(i) for i in range(len(ordered))])

    def fingerprint() -> str:
        return mesh_fingerprint(folder, ordered, ordered_labels, points, seed)

    return SplitIndex([f.stem for f in ordered], ordered_labels, tuple(class_names), load, "off", fingerprint,
                      load_one)


def mesh_fingerprint(folder: Path, files: Sequence[Path], labels: np.ndarray, points: int, seed: int) -> str:
    """sha256 over every mesh file's bytes, its label and the sampling settings (trimesh's version too).

    Sampling thousands of meshes takes minutes; their files' bytes identify the clouds just as
    well, since sampling is seeded, so a run can name the training split without sampling it.
    """
    import trimesh

    h = hashlib.sha256(f"off|points={points}|seed={seed}|trimesh={trimesh.__version__}|v{SAMPLER_VERSION}\n"
                       .encode())
    for path, label in zip(files, labels.tolist(), strict=True):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        h.update(f"{path.relative_to(folder)}\t{label}\t{len(data)}\n".encode())
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


# --- the registry's factories ------------------------------------------------------------------------

def index_split(root: Path, split: str, name: str, points: int, seed: int) -> SplitIndex:
    """Find the layout under ``root`` and index one split of it."""
    if not root.is_dir():
        raise DataError(f"{name} folder {root} does not exist; {layout_text(name)}. {OBTAIN}")
    hdf5 = find_hdf5([root, root / f"{name}_ply_hdf5_2048"], split)
    if hdf5:
        return index_hdf5(hdf5, split, points, name)
    resampled = find_resampled(
        [root, root / f"{name}_normal_resampled", root / "modelnet40_normal_resampled"], name)
    if resampled is not None:
        return index_resampled(resampled, split, points, name)
    meshes = find_meshes([root, root / MESH_FOLDERS[name]])
    if meshes is not None:
        return index_meshes(meshes, split, points, name, seed)
    raise DataError(f"no {name} data for split {split!r} in {root}; {layout_text(name)}. {OBTAIN}")


def open_modelnet(root: Path | str, split: str, name: str = "modelnet40", *, points: int = DEFAULT_POINTS,
                  seed: int = 0) -> ModelNetDataset:
    """One split of the user's ModelNet40 or ModelNet10 in any of the three layouts."""
    if split not in SPLITS:
        raise UsageError(f"{name} has splits {', '.join(SPLITS)}, not {split!r}")
    if name not in NUM_CLASSES:
        raise UsageError(f"unknown ModelNet variant {name!r}; known: {', '.join(NUM_CLASSES)}")
    points = check_points_param(points)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"seed (for sampling points on meshes) must be an integer, got {seed!r}")
    root = Path(root).expanduser()
    try:
        index = index_split(root, split, name, points, seed)
    except OSError as exc:  # an unreadable folder: a permissions or mount problem, named
        raise DataError(f"{exc.filename or root}: cannot be read ({exc.strerror or exc})") from exc
    return ModelNetDataset(name, split, points, index)


def _params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(params) - {"points", "seed"})
    if unknown:
        raise UsageError(f"dataset {name}: unknown parameter(s) {', '.join(unknown)}; known: points "
                         f"(per cloud, default {DEFAULT_POINTS}), seed (mesh sampling, default 0)")
    return params


@register_dataset("modelnet40")
def modelnet40(split: str, data_root: Path | None, **params: Any) -> Dataset:
    """``--data-root`` names the ModelNet40 folder (any layout); None: the embedded shapes-synth-16."""
    params = _params("modelnet40", params)
    if data_root is None:
        from vcmbench.datasets.shapes_synth import open_shapes_synth

        return open_shapes_synth(split, params.get("points", DEFAULT_POINTS))
    return open_modelnet(data_root, split, "modelnet40", **params)


@register_dataset("modelnet10")
def modelnet10(split: str, data_root: Path | None, **params: Any) -> Dataset:
    """``--data-root`` names the ModelNet10 folder (any layout); there is no embedded ModelNet10."""
    params = _params("modelnet10", params)
    if data_root is None:
        raise DataError(f"modelnet10 needs --data-root DIR; {layout_text('modelnet10')}. {OBTAIN}")
    return open_modelnet(data_root, split, "modelnet10", **params)
