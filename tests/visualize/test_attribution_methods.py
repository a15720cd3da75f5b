"""The attribution methods as registered methods and the faithfulness score: every attribution
sidecar records its AUCs, the curves mean what they say, good maps beat a random one on the
trained net, bad inputs give clear messages, and ``minigrad attribution-score`` writes its table."""
from __future__ import annotations

import json

import numpy as np
import pytest

from visualize import cli, faithfulness
from visualize.commands.attribution_score import score, summarize
from visualize.inputs import predict
from visualize.method import get_method

ATTRIBUTION = ["saliency", "guided-backprop", "occlusion", "grad-cam", "smoothgrad", "integrated-gradients", "grabcut"]


@pytest.mark.parametrize("name", ATTRIBUTION)
def test_every_attribution_sidecar_records_its_aucs(name, mnist_net, sample_input):
    method = get_method(name)
    image = sample_input(method, mnist_net)
    result = method(mnist_net)(image, seed=1, **method.smoke)
    f = result.metadata["report"]["faithfulness"]
    assert 0 <= f["deletion_auc"] <= 1 and 0 <= f["insertion_auc"] <= 1
    assert len(f["deletion_curve"]) == method.smoke["auc_steps"] + 1
    assert "deletion AUC" in result.metadata["caption"]
    off = method(mnist_net)(image, seed=1, **{**method.smoke, "auc_steps": 0})
    assert off.metadata["report"]["faithfulness"] is None


def test_curves_start_and_end_where_they_should(trained_mnist, held_out_digits):
    """Deletion runs from P(x) to P(black image); insertion from P(blurred x) to P(x)."""
    net = trained_mnist.requires_grad_(False)
    image, label = held_out_digits[0][2], int(held_out_digits[1][2])
    x = net.preprocess(image)
    shown = net.deprocess(x)
    f = faithfulness.faithfulness(net, x, faithfulness.edge_map(shown), label, np.random.default_rng(0), steps=8)
    p = lambda img: float(predict(net, net.preprocess(img))[0, label])  # noqa: E731
    assert np.isclose(f["deletion_curve"][0], p(shown), atol=1e-5)
    assert np.isclose(f["deletion_curve"][-1], p(np.zeros_like(shown)), atol=1e-5)
    assert np.isclose(f["insertion_curve"][0], p(faithfulness.blur(shown)), atol=1e-5)
    assert np.isclose(f["insertion_curve"][-1], p(shown), atol=1e-5)
    assert faithfulness.auc(np.array([1.0, 0.0])) == 0.5


def test_pixel_order_breaks_ties_by_the_seed():
    heat = np.zeros((4, 4))
    heat[0, 0] = 1
    a = faithfulness.pixel_order(heat, np.random.default_rng(0))
    assert a[0, 0] == 0 and sorted(a.ravel()) == list(range(16))
    assert np.array_equal(a, faithfulness.pixel_order(heat, np.random.default_rng(0)))
    assert not np.array_equal(a, faithfulness.pixel_order(heat, np.random.default_rng(1)))
    with pytest.raises(ValueError, match="NaN"):
        faithfulness.pixel_order(np.full((2, 2), np.nan), np.random.default_rng(0))


def test_maps_beat_a_random_map_on_the_trained_net(trained_mnist, held_out_digits):
    """On 4 held-out digits, saliency, Grad-CAM and integrated gradients each have a lower mean
    deletion AUC than the random map (``minigrad attribution-score`` measures all methods on 100)."""
    images, labels = held_out_digits
    inputs = [(str(i), images[i], int(labels[i])) for i in range(4)]
    table = {row["method"]: row for row in summarize(score(trained_mnist, inputs, ["saliency", "grad-cam",
                                                                                    "integrated-gradients"],
                                                           auc_steps=16, progress=False))}
    for name in ("saliency", "grad-cam", "integrated-gradients"):
        assert table[name]["deletion_auc"] < table["random"]["deletion_auc"] - 0.2
        assert table[name]["insertion_auc"] > table["random"]["insertion_auc"]


def test_bad_inputs_through_the_python_api(mnist_net, held_out_digits):
    sample_input = held_out_digits[0][0]
    with pytest.raises(ValueError, match="feature maps.*'fc1'"):
        get_method("grad-cam")(mnist_net)(sample_input, layer="fc1")
    with pytest.raises(ValueError, match="--steps: 0 is not valid"):
        get_method("integrated-gradients")(mnist_net)(sample_input, steps=0)
    with pytest.raises(ValueError, match="--sigma: -0.1 is not valid"):
        get_method("smoothgrad")(mnist_net)(sample_input, sigma=-0.1)
    with pytest.raises(ValueError, match=r"baseline has shape \(10, 10, 3\)"):
        get_method("integrated-gradients")(mnist_net)(sample_input, baseline=np.zeros((10, 10, 3)), steps=2)
    with pytest.raises(ValueError, match="steps >= 2 for the riemann-left rule"):
        get_method("integrated-gradients")(mnist_net)(sample_input, steps=1, rule="riemann-left")


def test_bad_flags_are_one_line_errors(mnist_weights_file, tmp_path, capsys, held_out_digits):
    from models.images import save_image
    digit = tmp_path / "digit.png"
    save_image(digit, held_out_digits[0][0])
    base = ["--model", str(mnist_weights_file), "--image", str(digit), "--out", str(tmp_path)]
    assert cli.main(["grad-cam", *base, "--layer", "fc2"]) == 2
    assert "feature maps" in capsys.readouterr().err
    for argv in (["integrated-gradients", *base, "--steps", "0"], ["smoothgrad", *base, "--sigma", "-1"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert "out of range" in capsys.readouterr().err


def test_attribution_score_command(mnist_weights_file, tmp_path, capsys):
    out = tmp_path / "score"
    assert cli.main(["attribution-score", "--model", str(mnist_weights_file), "--n", "2", "--methods",
                     "saliency,grad-cam", "--auc-steps", "4", "--out", str(out)]) == 0
    data = json.loads((out / "attribution_score.json").read_text())
    assert {row["method"] for row in data["table"]} == {"saliency", "grad-cam", "random", "edge"}
    assert all(len(v["deletion"]) == 2 for v in data["per_image"].values())
    assert (out / "attribution_score.png").stat().st_size > 10000
    assert "| saliency |" in (out / "attribution_score.md").read_text()
    assert cli.main(["attribution-score", "--methods", "saliency,bogus", "--out", str(out)]) == 2
    assert "unknown bogus" in capsys.readouterr().err
