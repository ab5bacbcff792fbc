from __future__ import annotations

import pytest
import torch

from rmtc.errors import InvalidInput
from rmtc.ml.nets import SIZES, NetConfig, UNet, build_model, count_parameters
from rmtc.ml.torchscript import quiet_jit


def _script(model):
    with quiet_jit():
        return torch.jit.script(model)


@pytest.mark.parametrize(("cin", "cout", "scale"), [(3, 1, 1), (4, 4, 1), (1, 3, 2), (7, 2, 1)])
def test_when_scripted_then_any_frame_size_gives_the_eager_result_at_scale(cin, cout, scale):
    model = build_model(NetConfig(in_channels=cin, out_channels=cout, scale=scale)).eval()
    scripted = _script(model)
    for h, w in [(1, 1), (17, 33), (40, 24)]:
        x = torch.rand(1, cin, h, w)
        with torch.no_grad():
            eager, script = model(x), scripted(x)
        assert eager.shape == (1, cout, h * scale, w * scale)
        assert torch.allclose(eager, script, atol=1e-6)


def test_sizes_grow_from_small_to_large_and_medium_is_copycat_scale():
    counts = [count_parameters(build_model(NetConfig(size=s))) for s in SIZES]
    assert counts == sorted(counts)
    assert 5_000_000 < counts[1] < 10_000_000


def test_when_residual_then_an_untrained_correction_is_added_to_the_input():
    model = build_model(NetConfig(residual=True, hdr="none"))
    for p in model.net.head.parameters():
        torch.nn.init.zeros_(p)
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        assert torch.equal(model(x), x)


def test_the_log_curve_round_trips_super_whites_and_negatives():
    model = build_model(NetConfig(hdr="log"))
    x = torch.tensor([-0.5, 0.0, 0.18, 1.0, 50.0, 5000.0])
    assert torch.allclose(model.decode(model.encode(x)), x, rtol=1e-5)
    assert model.encode(torch.tensor([5000.0])) < 9.0


def test_config_round_trips_and_refuses_fields_from_the_future():
    config = NetConfig(size="medium", in_channels=4, out_channels=1, scale=2, hdr="none")
    assert NetConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InvalidInput, match="unknown model config field"):
        NetConfig.from_dict({**config.to_dict(), "dropout": 0.1})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"architecture": "transformer"}, "unknown architecture"),
        ({"size": "huge"}, "unknown model size"),
        ({"in_channels": 0}, "in_channels must be an integer from 1"),
        ({"out_channels": True}, "out_channels must be an integer"),
        ({"scale": 3.0}, "scale must be an integer"),
        ({"hdr": "pq"}, "unknown HDR curve"),
        ({"residual": True, "out_channels": 1}, "residual model needs equal channel counts"),
    ],
)
def test_when_config_is_wrong_then_invalid_input_names_it(fields, message):
    with pytest.raises(InvalidInput, match=message):
        NetConfig(**fields)


def test_the_config_of_unet_weights_is_read_back_from_their_shapes():
    config = NetConfig(size="medium", in_channels=5, out_channels=2, scale=2)
    state = build_model(config).net.state_dict()
    found = UNet.infer_config(state, "", 2)
    assert (found.size, found.in_channels, found.out_channels, found.scale) == ("medium", 5, 2, 2)
    with pytest.raises(InvalidInput, match="not a U-Net"):
        UNet.infer_config({"conv.weight": torch.zeros(1)}, "", 1)
