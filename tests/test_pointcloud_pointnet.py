"""PointNet: split points that compose, order invariance, weights from a file or trained, fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pointcloud_fixtures import write_hdf5
from vcmbench.api.task import TASK_MODELS, TaskContext
from vcmbench.datasets.modelnet import open_modelnet
from vcmbench.errors import DataError, UsageError
from vcmbench.tasks.pointnet import PointNet, state_fingerprint
from vcmbench.tasks.pointnet_net import PointNetNet
from vcmbench.training.checkpoints import save_checkpoint

SMALL = {"widths": [8, 16], "head": [8], "epochs": 1, "batch_size": 4, "train_points": 64}


def random_model(seed: int = 0, **params) -> PointNet:
    torch.manual_seed(seed)
    model = PointNet(**{**SMALL, **params})
    net = PointNetNet(3, model.params["widths"], model.params["head"], model.params["dropout"])
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode is not the identity
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    model._attach(net)
    return model


def clouds(n: int = 6, points: int = 200, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(points, 3)) * rng.uniform(0.3, 1.0, 3)).astype(np.float32) for _ in range(n)]


def test_registered():
    assert TASK_MODELS.get("pointnet") is PointNet


@pytest.mark.parametrize("split", ["points", "global", "fc1"])
def test_split_points_compose_to_predict(split):
    model, xs = random_model(), clouds()
    logits = model.network(torch.from_numpy(np.stack(xs)))
    assert np.array_equal(model.predict(xs), logits.argmax(1).numpy())
    features = model.features(xs, split)
    assert np.array_equal(model.predict_from_features(features, split), model.predict(xs))
    assert model.split_points == ("points", "global", "fc1")


def test_order_of_points_and_mixed_sizes_do_not_matter():
    model, xs = random_model(), clouds(4)
    rng = np.random.default_rng(1)
    shuffled = [x[rng.permutation(len(x))] for x in xs]
    mixed = [xs[0], xs[1][:57], xs[2], xs[3][:120]]
    alone = np.concatenate([model.predict([x]) for x in mixed])
    assert np.array_equal(model.predict(shuffled), model.predict(xs))
    assert np.array_equal(model.predict(mixed), alone)
    g = model.features(mixed, "global")
    assert torch.allclose(g[1], model.features([mixed[1]], "global")[0])
    with pytest.raises(UsageError, match="one size"):
        model.features(mixed, "points")


def test_fingerprint_is_the_weights():
    a, b = random_model(0), random_model(0)
    assert a.fingerprint() == b.fingerprint() == state_fingerprint(a.network.state_dict())
    assert len(a.fingerprint()) == 64 and random_model(1).fingerprint() != a.fingerprint()


def test_bad_parameters():
    for bad in ({"widths": []}, {"widths": [8, -1]}, {"epochs": 0}, {"train_points": 0}, {"dropout": 1.0}):
        with pytest.raises(UsageError):
            PointNet(**bad)
    with pytest.raises(UsageError, match="split point"):
        random_model().features(clouds(1), "conv1")


def test_weights_file_missing_or_wrong(tmp_path):
    model = PointNet(**SMALL)
    ctx = TaskContext(train=None, cache_dir=tmp_path, weights=tmp_path / "nope.pt")
    with pytest.raises(DataError) as exc:
        model.prepare(ctx)
    assert "nope.pt does not exist" in str(exc.value) and "\n" not in str(exc.value)
    other = tmp_path / "other.pt"
    save_checkpoint(other, {"codec": "mnist-cnn"}, {"model": {}})
    with pytest.raises(DataError, match="not a pointnet checkpoint"):
        model.prepare(TaskContext(train=None, cache_dir=tmp_path, weights=other))
    wider = tmp_path / "wider.pt"
    save_checkpoint(wider, {"codec": "pointnet", "params": {**PointNet(**SMALL).params, "widths": [32]},
                            "num_classes": 3}, {"model": {}})
    with pytest.raises(DataError, match="differs in: widths"):
        model.prepare(TaskContext(train=None, cache_dir=tmp_path, weights=wider))
    with pytest.raises(DataError, match="training split"):
        model.prepare(TaskContext(train=None, cache_dir=tmp_path))


def test_trains_on_a_split_caches_and_loads_a_weights_file(tmp_path, capsys):
    root = tmp_path / "data"
    write_hdf5(root, per_class=6)
    train, test = open_modelnet(root, "train"), open_modelnet(root, "test")
    params = {"widths": [16, 32], "head": [16], "epochs": 25, "batch_size": 6, "train_points": 128}
    model = PointNet(**params)
    model.prepare(TaskContext(train=train, cache_dir=tmp_path / "cache"))
    assert model.origin == "trained" and "training 25 epochs" in capsys.readouterr().err
    accuracy = float((model.predict(test.inputs(range(len(test)))) == test.labels()).mean())
    assert accuracy >= 0.8  # plates, rods and balls: far above the 1/3 of guessing
    saved = list((tmp_path / "cache" / "tasks").glob("pointnet-*.pt"))
    assert len(saved) == 1 and saved[0].stat().st_size < 64_000
    again = PointNet(**params)
    again.prepare(TaskContext(train=train, cache_dir=tmp_path / "cache"))
    assert again.origin == "cached" and again.fingerprint() == model.fingerprint()
    from_file = PointNet(**params)
    from_file.prepare(TaskContext(train=None, cache_dir=tmp_path / "elsewhere", weights=saved[0]))
    assert from_file.origin == "file" and from_file.fingerprint() == model.fingerprint()
    assert np.array_equal(from_file.predict(test.inputs(range(5))), model.predict(test.inputs(range(5))))


def test_the_shipped_checkpoint_serves_the_embedded_set(tmp_path):
    from vcmbench.datasets.shapes_synth import open_shapes_synth

    model = PointNet()
    model.prepare(TaskContext(train=open_shapes_synth("train"), cache_dir=tmp_path))
    assert model.origin == "shipped" and not (tmp_path / "tasks").exists()
    test = open_shapes_synth("test")
    accuracy = float((model.predict(test.inputs(range(400))) == test.labels()[:400]).mean())
    assert 0.6 < accuracy < 0.97  # the embedded set is meant to be hard enough to leave room
