#!/usr/bin/python3
"""Write op-level golden tensors from PyTorch into test/fixtures/ops/.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/make-op-goldens.py

Every case draws its inputs from a seeded numpy generator, rounds them to
float32 (what the TypeScript kernels see), computes the op in float64 with
PyTorch, and stores inputs and outputs as float32 .npy files plus one entry
in manifest.json. Shapes are small and awkward on purpose (sizes that are not
multiples of 4 or 8, batch > 1) so that the fixtures stay well under 2 MB
while still catching indexing mistakes.

Tensors are stored in PyTorch's layout (conv/pool/norm/resize inputs NCHW,
conv weights OIHW); the manifest's "conventions" field says so and says how
the tests map them onto the TFLite layouts of src/kernels/reference/.
The output is deterministic: running the script twice gives identical files.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'ops')

CONVENTIONS = {
    'storage': 'every .npy is float32, C order, little endian; computed in float64 from the float32-rounded inputs',
    'layout': 'PyTorch layout: conv2d/pool/group_norm/upsample tensors are NCHW, conv weights are OIHW '
              '([out, in/groups, kh, kw]); linear weights are [out, in]; attention tensors are BTNH '
              '([batch, tokens, heads, head_dim]) as in the odml.scaled_dot_product_attention composite',
    'reference_kernels': 'src/kernels/reference/ use TFLite layouts: activations NHWC, CONV_2D filters OHWI '
                         '[out, kh, kw, in], DEPTHWISE_CONV_2D filters [1, kh, kw, in*multiplier]; the tests '
                         'transpose NCHW goldens to NHWC (perm 0,2,3,1) and OIHW weights to OHWI (perm 0,2,3,1) '
                         'or, for depthwise, to [1, kh, kw, out] (perm 1,2,3,0)',
    'padding': 'conv/pool params.padding is [top, bottom, left, right] in input pixels',
}

cases = []  # manifest entries
arrays = {}  # file name -> float32 array, written by main()


def rng_for(name):
    """A generator seeded from the case name, so adding a case never changes another."""
    seed = int.from_bytes(name.encode('utf-8'), 'little') % (2**63)
    return np.random.Generator(np.random.PCG64(seed))


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def normal(rng, shape, scale=1.0):
    return f32(rng.standard_normal(shape) * scale)


def uniform(rng, shape, lo, hi):
    return f32(rng.uniform(lo, hi, shape))


def t64(a):
    """float32 array -> float64 torch tensor holding exactly the float32 values."""
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def add_case(name, op, params, inputs, outputs):
    entry = {'name': name, 'op': op, 'params': params, 'inputs': {}, 'outputs': {}}
    for kind, tensors in (('inputs', inputs), ('outputs', outputs)):
        for key, value in tensors.items():
            arr = f32(value.numpy() if isinstance(value, torch.Tensor) else value)
            if not np.all(np.isfinite(arr)):
                sys.exit(f'{name}.{key}: non-finite values')
            file = f'{name}.{key}.npy'
            arrays[file] = arr
            entry[kind][key] = {'file': file, 'shape': list(arr.shape)}
    cases.append(entry)


# ---------------------------------------------------------------- conv2d

def conv_case(name, n, cin, cout, h, w, k, stride=1, pad=(0, 0, 0, 0), dilation=1, groups=1, bias=True):
    rng = rng_for(name)
    x = normal(rng, (n, cin, h, w))
    fan_in = cin // groups * k * k
    weight = normal(rng, (cout, cin // groups, k, k), 1 / math.sqrt(fan_in))
    b = normal(rng, (cout,), 0.5) if bias else None
    top, bottom, left, right = pad
    xp = F.pad(t64(x), (left, right, top, bottom))
    y = F.conv2d(xp, t64(weight), None if b is None else t64(b), stride=stride, dilation=dilation, groups=groups)
    inputs = {'x': x, 'weight': weight}
    if b is not None:
        inputs['bias'] = b
    add_case(name, 'conv2d',
             {'stride': [stride, stride], 'dilation': [dilation, dilation], 'padding': list(pad), 'groups': groups},
             inputs, {'y': y})


conv_case('conv2d_3x3_s1_p1', 2, 3, 5, 7, 6, 3, pad=(1, 1, 1, 1))
conv_case('conv2d_3x3_s1_p1_nobias', 1, 6, 7, 5, 9, 3, pad=(1, 1, 1, 1), bias=False)
conv_case('conv2d_1x1_s1', 2, 6, 5, 5, 3, 1)
conv_case('conv2d_1x1_s2', 2, 5, 3, 7, 6, 1, stride=2)
conv_case('conv2d_3x3_s2_p1', 2, 3, 5, 9, 7, 3, stride=2, pad=(1, 1, 1, 1))
# SD's VAE downsampling: F.pad(x, (0, 1, 0, 1)) then a 3x3 stride-2 conv without padding.
conv_case('conv2d_3x3_s2_asym', 2, 5, 3, 8, 6, 3, stride=2, pad=(0, 1, 0, 1))
conv_case('conv2d_3x3_s1_d2', 2, 3, 5, 9, 8, 3, pad=(2, 2, 2, 2), dilation=2)
conv_case('conv2d_depthwise_3x3', 2, 5, 5, 7, 6, 3, pad=(1, 1, 1, 1), groups=5)
conv_case('conv2d_depthwise_3x3_mult2_s2', 2, 3, 6, 7, 9, 3, stride=2, pad=(1, 1, 1, 1), groups=3)

# ---------------------------------------------------------------- normalisation

def group_norm_case(name, n, c, h, w, groups, eps, silu):
    rng = rng_for(name)
    # An offset and scale per channel, so that mean subtraction matters.
    x = f32(rng.standard_normal((n, c, h, w)) * 2.5 + rng.standard_normal((1, c, 1, 1)) * 3)
    gamma = f32(1 + rng.standard_normal(c) * 0.3)
    beta = normal(rng, (c,), 0.5)
    y = F.group_norm(t64(x), groups, t64(gamma), t64(beta), eps)
    if silu:
        y = F.silu(y)
    add_case(name, 'group_norm', {'groups': groups, 'eps': eps, 'silu': silu},
             {'x': x, 'gamma': gamma, 'beta': beta}, {'y': y})


group_norm_case('group_norm_g4', 2, 12, 5, 3, 4, 1e-5, False)
group_norm_case('group_norm_g8_silu', 2, 24, 3, 7, 8, 1e-6, True)
group_norm_case('group_norm_g4_eps6', 1, 20, 6, 5, 4, 1e-6, False)
group_norm_case('group_norm_g5_silu_eps5', 2, 15, 4, 3, 5, 1e-5, True)


def layer_norm_case(name, shape, eps):
    rng = rng_for(name)
    c = shape[-1]
    x = f32(rng.standard_normal(shape) * 2 + 1.5)
    gamma = f32(1 + rng.standard_normal(c) * 0.3)
    beta = normal(rng, (c,), 0.5)
    y = F.layer_norm(t64(x), (c,), t64(gamma), t64(beta), eps)
    add_case(name, 'layer_norm', {'eps': eps}, {'x': x, 'gamma': gamma, 'beta': beta}, {'y': y})


layer_norm_case('layer_norm_3d', (2, 7, 13), 1e-5)
layer_norm_case('layer_norm_2d_eps6', (5, 37), 1e-6)

# ---------------------------------------------------------------- softmax

def softmax_case(name, x, beta=1.0):
    y = F.softmax(t64(x) * beta, dim=-1)
    add_case(name, 'softmax', {'beta': beta, 'axis': -1}, {'x': x}, {'y': y})


softmax_case('softmax_3d', normal(rng_for('softmax_3d'), (2, 3, 13), 2))
softmax_case('softmax_large', normal(rng_for('softmax_large'), (4, 11), 1000))
softmax_case('softmax_beta', normal(rng_for('softmax_beta'), (3, 9), 3), beta=0.37)

# ---------------------------------------------------------------- attention

def attention_case(name, b, heads, kv_heads, lq, lk, d, scale=None, causal=False, mask_shape=None):
    rng = rng_for(name)
    q = normal(rng, (b, lq, heads, d))
    k = normal(rng, (b, lk, kv_heads, d))
    v = normal(rng, (b, lk, kv_heads, d))
    # The kernels receive the scale as a float32 attribute: compute with exactly that value.
    scale = float(np.float32(1 / math.sqrt(d) if scale is None else scale))
    mask = None
    if mask_shape is not None:
        # Additive mask: moderate noise plus some strongly masked positions.
        mask = f32(rng.standard_normal(mask_shape) * 0.5 - 30 * (rng.uniform(size=mask_shape) < 0.2))
    # [B, T, N, H] -> [B, N, T, H]; key/value heads are repeated for grouped-query attention.
    qt, kt, vt = (t64(a).permute(0, 2, 1, 3) for a in (q, k, v))
    kt = kt.repeat_interleave(heads // kv_heads, dim=1)
    vt = vt.repeat_interleave(heads // kv_heads, dim=1)
    scores = torch.matmul(qt, kt.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + t64(mask)
    if causal:
        # Query i attends to keys 0..i (aligned at the start, as CLIP's causal mask).
        keep = torch.ones(lq, lk, dtype=torch.bool).tril()
        scores = scores.masked_fill(~keep, float('-inf'))
    y = torch.matmul(torch.softmax(scores, dim=-1), vt).permute(0, 2, 1, 3)
    inputs = {'q': q, 'k': k, 'v': v}
    if mask is not None:
        inputs['mask'] = mask
    add_case(name, 'attention', {'scale': scale, 'causal': causal, 'layout': 'BTNH'},
             inputs, {'y': y})


attention_case('attention_cross_d8', 2, 3, 3, 7, 11, 8)
attention_case('attention_self_d5_causal', 2, 2, 2, 9, 9, 5, causal=True)
attention_case('attention_d5_mask', 2, 3, 3, 6, 13, 5, scale=0.3, mask_shape=(2, 1, 6, 13))
attention_case('attention_gqa_d7', 1, 4, 2, 5, 10, 7, mask_shape=(1, 1, 5, 10))

# ---------------------------------------------------------------- activations

def activation_inputs(name):
    rng = rng_for(name)
    x = rng.uniform(-8, 8, (3, 37))
    x[0, :9] = [-20, -5, -1, -0.5, 0, 0.5, 1, 5, 20]
    return f32(x)


def activation_case(name, op, fn, params=None):
    x = activation_inputs(name)
    add_case(name, op, params or {}, {'x': x}, {'y': fn(t64(x))})


activation_case('gelu_erf', 'gelu', lambda x: F.gelu(x), {'approximate': False})
activation_case('gelu_tanh', 'gelu', lambda x: F.gelu(x, approximate='tanh'), {'approximate': True})
activation_case('silu', 'silu', F.silu)
activation_case('quick_gelu', 'quick_gelu', lambda x: x * torch.sigmoid(1.702 * x))


def geglu_case(name, batch, tokens, dim, inner):
    rng = rng_for(name)
    x = normal(rng, (batch, tokens, dim))
    weight = normal(rng, (2 * inner, dim), 1 / math.sqrt(dim))
    bias = normal(rng, (2 * inner,), 0.3)
    value, gate = F.linear(t64(x), t64(weight), t64(bias)).chunk(2, dim=-1)
    add_case(name, 'geglu', {'inner': inner, 'split': 'first half value, second half gate (diffusers GEGLU)'},
             {'x': x, 'weight': weight, 'bias': bias}, {'y': value * F.gelu(gate)})


geglu_case('geglu', 2, 5, 12, 9)

# ---------------------------------------------------------------- linear and matmul

def linear_case(name, x_shape, out_features, bias=True):
    rng = rng_for(name)
    x = normal(rng, x_shape)
    weight = normal(rng, (out_features, x_shape[-1]), 1 / math.sqrt(x_shape[-1]))
    b = normal(rng, (out_features,), 0.5) if bias else None
    y = F.linear(t64(x), t64(weight), None if b is None else t64(b))
    inputs = {'x': x, 'weight': weight}
    if b is not None:
        inputs['bias'] = b
    add_case(name, 'linear', {}, inputs, {'y': y})


linear_case('linear_3d', (2, 3, 7), 5)
linear_case('linear_2d_nobias', (6, 13), 11, bias=False)


def matmul_case(name, a_shape, b_shape, adj_x=False, adj_y=False):
    rng = rng_for(name)
    a = normal(rng, a_shape)
    b = normal(rng, b_shape)
    ta, tb = t64(a), t64(b)
    if adj_x:
        ta = ta.transpose(-1, -2)
    if adj_y:
        tb = tb.transpose(-1, -2)
    add_case(name, 'batch_matmul', {'adj_x': adj_x, 'adj_y': adj_y}, {'a': a, 'b': b}, {'y': torch.matmul(ta, tb)})


matmul_case('batch_matmul_broadcast', (2, 1, 3, 5), (4, 5, 6))
matmul_case('batch_matmul_adj_x', (3, 7, 5), (3, 7, 2), adj_x=True)
matmul_case('batch_matmul_adj_y_broadcast', (2, 3, 5, 9), (1, 3, 6, 9), adj_y=True)
matmul_case('batch_matmul_adj_xy', (1, 4, 3), (2, 5, 4), adj_x=True, adj_y=True)

# ---------------------------------------------------------------- resize and pooling

def resize_case(name, shape, size, mode, align_corners=None):
    rng = rng_for(name)
    x = normal(rng, shape)
    kwargs = {} if align_corners is None else {'align_corners': align_corners}
    y = F.interpolate(t64(x), size=size, mode=mode, **kwargs)
    # TFLite equivalents: nearest = (align_corners false, half_pixel false), nearest-exact = half_pixel true,
    # bilinear align_corners=True = align_corners true, bilinear align_corners=False = half_pixel true.
    tflite = {
        'nearest': {'align_corners': False, 'half_pixel_centers': False},
        'nearest-exact': {'align_corners': False, 'half_pixel_centers': True},
        'bilinear': {'align_corners': bool(align_corners), 'half_pixel_centers': not align_corners},
    }[mode]
    add_case(name, 'resize_nearest' if mode.startswith('nearest') else 'resize_bilinear',
             {'size': list(size), 'torch_mode': mode, **tflite}, {'x': x}, {'y': y})


resize_case('upsample_nearest_x2', (2, 3, 5, 7), (10, 14), 'nearest')
resize_case('resize_nearest_5x7_to_8x3', (1, 2, 5, 7), (8, 3), 'nearest')
resize_case('resize_nearest_exact_5x7_to_8x11', (2, 2, 5, 7), (8, 11), 'nearest-exact')
resize_case('resize_bilinear_align_corners', (2, 3, 5, 7), (9, 4), 'bilinear', True)
resize_case('resize_bilinear_half_pixel', (2, 3, 5, 7), (9, 4), 'bilinear', False)
resize_case('resize_bilinear_half_pixel_up', (1, 2, 3, 4), (7, 10), 'bilinear', False)


def pool_case(name, kind, shape, k, stride, pad):
    rng = rng_for(name)
    x = normal(rng, shape)
    if kind == 'avg':
        # TFLite averages only the window cells inside the input.
        y = F.avg_pool2d(t64(x), k, stride, pad, count_include_pad=False)
    else:
        y = F.max_pool2d(t64(x), k, stride, pad)
    add_case(name, f'{kind}_pool', {'filter': [k, k], 'stride': [stride, stride], 'padding': [pad] * 4},
             {'x': x}, {'y': y})


pool_case('avg_pool_3x3_s2_p1', 'avg', (2, 3, 7, 9), 3, 2, 1)
pool_case('avg_pool_2x2_s2', 'avg', (2, 5, 6, 5), 2, 2, 0)
pool_case('max_pool_3x3_s2_p1', 'max', (2, 3, 7, 9), 3, 2, 1)
pool_case('max_pool_2x2_s1', 'max', (1, 4, 5, 6), 2, 1, 0)

# ---------------------------------------------------------------- elementwise, reductions, transpose

BINARY = {
    'add': lambda a, b: a + b,
    'sub': lambda a, b: a - b,
    'mul': lambda a, b: a * b,
    'div': lambda a, b: a / b,
    'squared_difference': lambda a, b: (a - b) ** 2,
}


def binary_case(name, op, a_shape, b_shape):
    rng = rng_for(name)
    a = normal(rng, a_shape)
    b = normal(rng, b_shape)
    if op == 'div':
        # Keep denominators away from zero.
        b = f32(np.sign(b) * (np.abs(b) + 0.5) + (b == 0))
    add_case(name, op, {}, {'a': a, 'b': b}, {'y': BINARY[op](t64(a), t64(b))})


binary_case('add_broadcast', 'add', (2, 3, 1, 7), (5, 1))
binary_case('sub_broadcast', 'sub', (5, 1), (2, 3, 1, 7))
binary_case('mul_broadcast', 'mul', (2, 1, 5), (3, 1))
binary_case('div_broadcast', 'div', (3, 4, 5), (1, 5))
binary_case('squared_difference_broadcast', 'squared_difference', (2, 3, 5), (2, 1, 5))
binary_case('mul_scalar', 'mul', (3, 7), ())


def reduce_case(name, op, shape, axes, keep_dims):
    rng = rng_for(name)
    x = normal(rng, shape)
    fn = torch.mean if op == 'mean' else torch.sum
    add_case(name, op, {'axes': axes, 'keep_dims': keep_dims}, {'x': x},
             {'y': fn(t64(x), dim=tuple(axes), keepdim=keep_dims)})


reduce_case('mean_hw_keep', 'mean', (2, 5, 3, 7), [1, 2], True)
reduce_case('mean_last', 'mean', (2, 5, 3, 7), [-1], False)
reduce_case('sum_outer', 'sum', (2, 5, 3, 7), [0, 3], False)
reduce_case('sum_all_keep', 'sum', (3, 5, 7), [0, 1, 2], True)


def transpose_case(name, shape, perm):
    x = normal(rng_for(name), shape)
    add_case(name, 'transpose', {'perm': perm}, {'x': x}, {'y': t64(x).permute(*perm)})


transpose_case('transpose_nchw_to_nhwc', (2, 3, 5, 7), [0, 2, 3, 1])
transpose_case('transpose_mixed', (2, 3, 5, 7), [3, 1, 0, 2])
transpose_case('transpose_5d', (2, 3, 1, 5, 2), [4, 2, 0, 3, 1])

# ---------------------------------------------------------------- write

def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for old in os.listdir(OUT_DIR):
        if old.endswith('.npy'):
            os.remove(os.path.join(OUT_DIR, old))
    for file, arr in arrays.items():
        np.save(os.path.join(OUT_DIR, file), arr)
    manifest = {
        'generated_by': 'scripts/make-op-goldens.py',
        'torch_version': torch.__version__,
        'numpy_version': np.__version__,
        'conventions': CONVENTIONS,
        'cases': cases,
    }
    tmp = os.path.join(OUT_DIR, 'manifest.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    os.replace(tmp, os.path.join(OUT_DIR, 'manifest.json'))
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in os.listdir(OUT_DIR))
    print(f'{len(cases)} cases, {total} bytes in {os.path.relpath(OUT_DIR)}')


if __name__ == '__main__':
    main()
