"""``shapes-synth-16``: a procedural point-cloud classification set that ships as code, not data.

ModelNet40 cannot be redistributed inside a pip package, so the point-cloud suite's default is a
deterministic set of parametric shapes (sphere, box, torus, table, chair, ...). Every cloud gets
random shape parameters, an anisotropic scale, a rotation (any turn about the vertical axis plus
a tilt), Gaussian surface noise and, for half of the clouds, a missing cap (an occluded side,
refilled by repeating surviving points), and is then centred and scaled into the unit sphere,
as ModelNet40 clouds are. Anisotropy and occlusion make neighbouring classes (sphere/ellipsoid,
cylinder/capsule, box/plate, table/chair) genuinely confusable, so a classifier stays well below
100 % and the rate-accuracy curve has somewhere to go.

Class frequencies are deliberately unequal (like ModelNet40's test set, whose prior is not
uniform): the bound for this prior differs from the uniform one, as in the paper's Fig. 3.

The set is generated in memory on first use (about a second for both splits on one core) from
fixed seeds; its content fingerprint is recorded, so a numpy whose random streams changed could
never pass its clouds off as the same data. Its benchmark id is ``shapes-synth-16``, never
``modelnet40``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from vcmbench.api.dataset import ArrayDataset, register_dataset
from vcmbench.datasets.pointclouds import DEFAULT_POINTS, check_points_param, point_cloud_info
from vcmbench.errors import UsageError

SEED = 20240601
SPLITS = ("train", "test")
# Relative class frequencies (the same in both splits): 6:1 between the commonest and the rarest.
WEIGHTS = (12, 11, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 4, 3, 2, 2)
SPLIT_SIZES = {"train": 1600, "test": 800}
VERSION = "1"

Sampler = Callable[[np.random.Generator, int], np.ndarray]


# --- surface samplers (unit-ish size; the augmentation rescales) ------------------------------------

def _sphere(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _box(rng: np.random.Generator, n: int, size: np.ndarray, centre: np.ndarray | None = None) -> np.ndarray:
    """Uniform on the surface of an axis-aligned box of edge lengths ``size``."""
    sx, sy, sz = size
    areas = np.array([sy * sz, sy * sz, sx * sz, sx * sz, sx * sy, sx * sy])
    face = rng.choice(6, size=n, p=areas / areas.sum())
    p = (rng.random((n, 3)) - 0.5) * size
    axis = face // 2
    p[np.arange(n), axis] = np.where(face % 2 == 0, -0.5, 0.5) * size[axis]
    return p + (0 if centre is None else centre)


def _disc(rng: np.random.Generator, n: int, r: float, z: float) -> np.ndarray:
    rho, phi = r * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), np.full(n, z)], axis=1)


def _tube(rng: np.random.Generator, n: int, r: float, z0: float, z1: float) -> np.ndarray:
    phi, z = rng.uniform(0, 2 * np.pi, n), rng.uniform(z0, z1, n)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def _triangles(rng: np.random.Generator, n: int, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Uniform on a triangle mesh (area-weighted face choice, uniform barycentric point)."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    areas = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    f = rng.choice(len(faces), size=n, p=areas / areas.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return a[f] + u[:, None] * (b[f] - a[f]) + v[:, None] * (c[f] - a[f])


def _compose(rng: np.random.Generator, n: int, parts: list[tuple[float, Sampler]]) -> np.ndarray:
    """Points split over parts in proportion to their areas."""
    areas = np.array([a for a, _ in parts], dtype=float)
    counts = rng.multinomial(n, areas / areas.sum())
    return np.concatenate([fn(rng, k) for (_, fn), k in zip(parts, counts, strict=True) if k])


def _box_part(size: tuple[float, float, float], centre: tuple[float, float, float]) -> tuple[float, Sampler]:
    s, c = np.array(size), np.array(centre)
    area = 2 * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])
    return area, lambda rng, k: _box(rng, k, s, c)


def sphere(rng: np.random.Generator, n: int) -> np.ndarray:
    return _sphere(rng, n)


def ellipsoid(rng: np.random.Generator, n: int) -> np.ndarray:
    r = rng.uniform(0.35, 0.6)
    return _sphere(rng, n) * np.array([1.0, r, r * rng.uniform(0.8, 1.2)])


def box(rng: np.random.Generator, n: int) -> np.ndarray:
    return _box(rng, n, rng.uniform(0.7, 1.3, 3))


def plate(rng: np.random.Generator, n: int) -> np.ndarray:
    return _box(rng, n, np.array([rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2), rng.uniform(0.05, 0.2)]))


def cylinder(rng: np.random.Generator, n: int) -> np.ndarray:
    r, h = rng.uniform(0.3, 0.5), rng.uniform(1.2, 2.0)
    return _compose(rng, n, [(2 * np.pi * r * h, lambda g, k: _tube(g, k, r, -h / 2, h / 2)),
                             (np.pi * r * r, lambda g, k: _disc(g, k, r, -h / 2)),
                             (np.pi * r * r, lambda g, k: _disc(g, k, r, h / 2))])


def capsule(rng: np.random.Generator, n: int) -> np.ndarray:
    r, h = rng.uniform(0.3, 0.5), rng.uniform(0.8, 1.4)

    def cap(g: np.random.Generator, k: int, sign: float) -> np.ndarray:
        p = _sphere(g, k) * r
        p[:, 2] = sign * np.abs(p[:, 2]) + sign * h / 2
        return p
    return _compose(rng, n, [(2 * np.pi * r * h, lambda g, k: _tube(g, k, r, -h / 2, h / 2)),
                             (2 * np.pi * r * r, lambda g, k: cap(g, k, 1.0)),
                             (2 * np.pi * r * r, lambda g, k: cap(g, k, -1.0))])


def cone(rng: np.random.Generator, n: int) -> np.ndarray:
    r, h = rng.uniform(0.5, 0.8), rng.uniform(1.0, 1.6)

    def lateral(g: np.random.Generator, k: int) -> np.ndarray:
        t = np.sqrt(g.random(k))  # distance from the apex, area grows linearly with it
        phi = g.uniform(0, 2 * np.pi, k)
        return np.stack([r * t * np.cos(phi), r * t * np.sin(phi), h / 2 - h * t], axis=1)
    return _compose(rng, n, [(np.pi * r * np.hypot(r, h), lateral),
                             (np.pi * r * r, lambda g, k: _disc(g, k, r, -h / 2))])


def torus(rng: np.random.Generator, n: int) -> np.ndarray:
    big, small = 1.0, rng.uniform(0.2, 0.45)
    u = rng.uniform(0, 2 * np.pi, 4 * n)
    v = rng.uniform(0, 2 * np.pi, 4 * n)
    keep = rng.random(4 * n) < (big + small * np.cos(v)) / (big + small)  # area density
    u, v = u[keep][:n], v[keep][:n]
    ring = big + small * np.cos(v)
    return np.stack([ring * np.cos(u), ring * np.sin(u), small * np.sin(v)], axis=1)


def pyramid(rng: np.random.Generator, n: int) -> np.ndarray:
    h = rng.uniform(0.8, 1.4)
    v = np.array([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0], [0, 0, h]])
    f = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4], [0, 1, 2], [0, 2, 3]])
    return _triangles(rng, n, v, f)


def tetrahedron(rng: np.random.Generator, n: int) -> np.ndarray:
    v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    v += rng.normal(scale=0.15, size=v.shape)
    f = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
    return _triangles(rng, n, v, f)


def helix(rng: np.random.Generator, n: int) -> np.ndarray:
    turns, pitch, tube = rng.uniform(2.0, 3.5), rng.uniform(0.25, 0.45), rng.uniform(0.05, 0.12)
    t = rng.uniform(0, 2 * np.pi * turns, n)
    centre = np.stack([np.cos(t), np.sin(t), pitch * t / (2 * np.pi)], axis=1)
    return centre + tube * _sphere(rng, n)


def dumbbell(rng: np.random.Generator, n: int) -> np.ndarray:
    r, length, bar = rng.uniform(0.35, 0.55), rng.uniform(1.4, 2.2), rng.uniform(0.08, 0.15)

    def ball(g: np.random.Generator, k: int, x: float) -> np.ndarray:
        return _sphere(g, k) * r + np.array([x, 0, 0])
    bar_part = _box_part((length, bar, bar), (0, 0, 0))
    return _compose(rng, n, [(4 * np.pi * r * r, lambda g, k: ball(g, k, -length / 2)),
                             (4 * np.pi * r * r, lambda g, k: ball(g, k, length / 2)), bar_part])


def cross(rng: np.random.Generator, n: int) -> np.ndarray:
    w = rng.uniform(0.15, 0.3)
    lengths = rng.uniform(1.2, 2.0, 3)
    centre = (0.0, 0.0, 0.0)
    return _compose(rng, n, [_box_part((lengths[0], w, w), centre), _box_part((w, lengths[1], w), centre),
                             _box_part((w, w, lengths[2]), centre)])


def bowl(rng: np.random.Generator, n: int) -> np.ndarray:
    p = _sphere(rng, n)
    p[:, 2] = -np.abs(p[:, 2]) * rng.uniform(0.5, 1.0)
    return p


def table(rng: np.random.Generator, n: int) -> np.ndarray:
    top_x, top_y, leg_h = rng.uniform(1.2, 2.0), rng.uniform(0.8, 1.2), rng.uniform(0.6, 1.0)
    leg = rng.uniform(0.06, 0.12)
    parts = [_box_part((top_x, top_y, 0.08), (0, 0, leg_h))]
    for sx in (-1, 1):
        for sy in (-1, 1):
            corner = (sx * (top_x / 2 - leg), sy * (top_y / 2 - leg), leg_h / 2)
            parts.append(_box_part((leg, leg, leg_h), corner))
    return _compose(rng, n, parts)


def chair(rng: np.random.Generator, n: int) -> np.ndarray:
    seat, leg_h, back_h = rng.uniform(0.8, 1.1), rng.uniform(0.6, 0.9), rng.uniform(0.7, 1.2)
    leg = rng.uniform(0.06, 0.1)
    parts = [_box_part((seat, seat, 0.08), (0, 0, leg_h)),
             _box_part((seat, 0.08, back_h), (0, seat / 2, leg_h + back_h / 2))]
    for sx in (-1, 1):
        for sy in (-1, 1):
            corner = (sx * (seat / 2 - leg), sy * (seat / 2 - leg), leg_h / 2)
            parts.append(_box_part((leg, leg, leg_h), corner))
    return _compose(rng, n, parts)


SHAPES: dict[str, Sampler] = {
    "sphere": sphere, "ellipsoid": ellipsoid, "box": box, "cylinder": cylinder, "cone": cone,
    "torus": torus, "pyramid": pyramid, "plate": plate, "helix": helix, "dumbbell": dumbbell,
    "cross": cross, "bowl": bowl, "capsule": capsule, "table": table, "chair": chair,
    "tetrahedron": tetrahedron,
}
CLASS_NAMES = tuple(SHAPES)
NUM_CLASSES = len(CLASS_NAMES)
EMBEDDED_ID = f"shapes-synth-{NUM_CLASSES}"


# --- augmentation ------------------------------------------------------------------------------------

def _rotation(rng: np.random.Generator, max_tilt: float) -> np.ndarray:
    """Any turn about the vertical axis, then a tilt of at most ``max_tilt`` radians about a random axis."""
    yaw = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    axis = np.array([*_sphere(rng, 1)[0, :2], 0.0])
    axis /= max(np.linalg.norm(axis), 1e-9)
    angle = rng.uniform(0, max_tilt)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    tilt = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k  # Rodrigues
    return tilt @ rz


def augment(rng: np.random.Generator, points: np.ndarray) -> np.ndarray:
    """Anisotropic scale, rotation, occlusion (half the clouds) and noise; then into the unit sphere."""
    n = len(points)
    p = points * rng.uniform(0.6, 1.4, 3)
    p = p @ _rotation(rng, np.radians(25)).T
    if rng.random() < 0.5:  # one side unseen: drop a cap of 10-35 % of the points, refill by repetition
        direction = _sphere(rng, 1)[0]
        depth = p @ direction
        keep = depth < np.quantile(depth, 1 - rng.uniform(0.1, 0.35))
        survivors = p[keep]
        p = np.concatenate([survivors, survivors[rng.integers(0, len(survivors), n - len(survivors))]])
    p = p - p.mean(axis=0)
    p = p / np.linalg.norm(p, axis=1).max()
    p = p + rng.normal(scale=rng.uniform(0.015, 0.05), size=p.shape)
    return p[rng.permutation(n)]


def split_counts(split: str) -> np.ndarray:
    """Clouds per class in ``split``: SPLIT_SIZES apportioned by WEIGHTS (largest remainders)."""
    w = np.asarray(WEIGHTS, dtype=float)
    exact = SPLIT_SIZES[split] * w / w.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: SPLIT_SIZES[split] - counts.sum()]] += 1
    return counts


@lru_cache(maxsize=4)
def generate(split: str, points: int = DEFAULT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Clouds (N, points, 3) float32 and labels (N,) int64 of one split, in a fixed shuffled order."""
    if split not in SPLITS:
        raise UsageError(f"{EMBEDDED_ID} has splits {', '.join(SPLITS)}, not {split!r}")
    root = np.random.SeedSequence([SEED, SPLITS.index(split), points])
    order_rng = np.random.default_rng(root.spawn(1)[0])
    labels = np.repeat(np.arange(NUM_CLASSES), split_counts(split))
    labels = labels[order_rng.permutation(len(labels))]
    clouds = np.empty((len(labels), points, 3), dtype=np.float32)
    for i, (label, seed) in enumerate(zip(labels, root.spawn(len(labels)), strict=True)):
        rng = np.random.default_rng(seed)
        clouds[i] = augment(rng, SHAPES[CLASS_NAMES[label]](rng, points))
    clouds.setflags(write=False)
    labels.setflags(write=False)
    return clouds, labels


def open_shapes_synth(split: str, points: int = DEFAULT_POINTS) -> ArrayDataset:
    """One split of the embedded set; ids ``<split>-<index>``."""
    points = check_points_param(points)
    clouds, labels = generate(split, points)
    info = point_cloud_info(EMBEDDED_ID if points == DEFAULT_POINTS else f"{EMBEDDED_ID}-{points}pt",
                            split, clouds, labels, CLASS_NAMES, version=VERSION)
    return ArrayDataset(info, clouds, labels)


@register_dataset("shapes-synth")
def shapes_synth(split: str, data_root: Path | None, **params: Any) -> ArrayDataset:
    """The embedded set by its own name; it is generated, so a data root makes no sense."""
    if data_root is not None:
        raise UsageError(f"{EMBEDDED_ID} is generated, not read: drop --data-root (or run the modelnet40 "
                         f"suite on your ModelNet40 copy)")
    unknown = sorted(set(params) - {"points"})
    if unknown:
        raise UsageError(f"dataset shapes-synth: unknown parameter(s) {', '.join(unknown)}; known: points")
    return open_shapes_synth(split, params.get("points", DEFAULT_POINTS))
