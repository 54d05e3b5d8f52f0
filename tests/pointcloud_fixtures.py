"""A tiny ModelNet written by the tests themselves, in each of the three layouts people have.

Three classes whose shapes differ plainly (a flat square, a tall thin rod, a round ball), a few
shapes per class and split, so a PointNet trained for a few seconds tells them apart. The same
clouds go into every layout (HDF5, resampled text, OFF meshes sampled by the reader), with more
points stored than the reader takes (it uses the first ``points``), as in the real releases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("plate", "rod", "ball")
STORED_POINTS = 1100  # more than the 1,024 read, like the 2,048 / 10,000 of the real files


def shape_cloud(cls: str, rng: np.random.Generator, n: int = STORED_POINTS) -> np.ndarray:
    """Points on a plate (flat square), a rod (long thin box) or a ball, slightly varied."""
    if cls == "ball":
        v = rng.normal(size=(n, 3))
        return v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.8, 1.2)
    size = np.array([1.0, 1.0, 0.05]) if cls == "plate" else np.array([0.1, 0.1, 2.0])
    size = size * rng.uniform(0.8, 1.2, 3)
    p = (rng.random((n, 3)) - 0.5) * size
    axis = rng.integers(0, 3, n)
    p[np.arange(n), axis] = np.sign(rng.random(n) - 0.5) * size[axis] / 2
    return p


def fixture_split(split: str, per_class: int, seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    """Clouds and labels of one split, classes interleaved."""
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    clouds, labels = [], []
    for _ in range(per_class):
        for label, cls in enumerate(CLASSES):
            clouds.append(shape_cloud(cls, rng).astype(np.float32))
            labels.append(label)
    return clouds, labels


def write_hdf5(root: Path, per_class: int = 4, split_files: int = 2,
               classes: tuple[str, ...] = CLASSES) -> Path:
    """PointNet's layout: ``ply_data_{split}{k}.h5`` (data N×P×3, label N×1) and ``shape_names.txt``."""
    import h5py

    folder = root / "modelnet40_ply_hdf5_2048"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shape_names.txt").write_text("\n".join(classes) + "\n")
    for split in ("train", "test"):
        clouds, labels = fixture_split(split, per_class)
        parts = np.array_split(np.arange(len(labels)), split_files)
        for k, rows in enumerate(parts):
            with h5py.File(folder / f"ply_data_{split}{k}.h5", "w") as fh:
                fh["data"] = np.stack([clouds[i] for i in rows])
                fh["label"] = np.array([[labels[i]] for i in rows], dtype=np.uint8)
    return folder


def write_resampled(root: Path, per_class: int = 4, name: str = "modelnet40") -> Path:
    """PointNet++'s layout: ``<class>/<class>_<nnnn>.txt`` rows ``x,y,z,nx,ny,nz`` and the list files."""
    folder = root / "modelnet40_normal_resampled"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_shape_names.txt").write_text("\n".join(CLASSES) + "\n")
    number = {cls: 0 for cls in CLASSES}
    for split in ("train", "test"):
        clouds, labels = fixture_split(split, per_class)
        shapes = []
        for cloud, label in zip(clouds, labels, strict=True):
            cls = CLASSES[label]
            number[cls] += 1
            shape = f"{cls}_{number[cls]:04d}"
            (folder / cls).mkdir(exist_ok=True)
            normals = np.zeros_like(cloud)
            normals[:, 2] = 1.0
            rows = np.hstack([cloud, normals])
            np.savetxt(folder / cls / f"{shape}.txt", rows, fmt="%.6f", delimiter=",")
            shapes.append(shape)
        (folder / f"{name}_{split}.txt").write_text("\n".join(shapes) + "\n")
    return folder


def box_mesh(size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of an axis-aligned box centred at the origin."""
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]) * size
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    return corners, np.array(faces)


def ball_mesh(radius: float) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    ball = trimesh.creation.icosphere(subdivisions=2, radius=radius)
    return np.asarray(ball.vertices), np.asarray(ball.faces)


def off_text(vertices: np.ndarray, faces: np.ndarray, glued_header: bool = False) -> str:
    """An OFF file; ``glued_header`` writes ``OFF<nv> <nf> 0`` on one line, as some ModelNet40 files do."""
    counts = f"{len(vertices)} {len(faces)} 0"
    head = f"OFF{counts}\n" if glued_header else f"OFF\n{counts}\n"
    body = "".join(f"{x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in vertices)
    return head + body + "".join(f"3 {a} {b} {c}\n" for a, b, c in faces)


def write_meshes(root: Path, per_class: int = 4, folder_name: str = "ModelNet40") -> Path:
    """The original layout: ``<class>/{train,test}/<class>_<nnnn>.off``; the first file has a glued header."""
    folder = root / folder_name
    rng = np.random.default_rng(7)
    number = 0
    for split in ("train", "test"):
        for _ in range(per_class):
            for cls in CLASSES:
                number += 1
                scale = rng.uniform(0.8, 1.2, 3)
                if cls == "ball":
                    vertices, faces = ball_mesh(float(scale[0]))
                else:
                    size = np.array([1.0, 1.0, 0.05]) if cls == "plate" else np.array([0.1, 0.1, 2.0])
                    vertices, faces = box_mesh(size * scale)
                target = folder / cls / split
                target.mkdir(parents=True, exist_ok=True)
                text = off_text(vertices, faces, glued_header=number == 1)
                (target / f"{cls}_{number:04d}.off").write_text(text)
    return folder
