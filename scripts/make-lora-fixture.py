#!/usr/bin/python3
"""Write small random LoRA files for tiny-a and their merges into test/fixtures/lora/.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/make-lora-fixture.py

Three LoRA files, each in one format the converter reads:
- tiny-a-kohya.safetensors: kohya-ss/sd-scripts keys (lora_unet_*/lora_te_*,
  lora_down/lora_up/alpha): UNet attention Linears (q, k, out, GEGLU proj,
  ff out), proj_in as a Linear pair and proj_out as a 1x1-conv pair on LDM's
  1x1 convs, LoCon 3x3 convs (resnet conv1/conv2, downsampler, upsampler,
  conv_in), a 1x1 conv shortcut, time_emb_proj, the time embedding, and the
  text encoder's q/k/v/out_proj and mlp fc1/fc2 in both layers. Some layers
  carry .alpha (float16 or float32, below, equal to and above the rank), some
  do not (alpha = rank); weights are float16 (as civitai files are) or float32.
- tiny-a-peft.safetensors: diffusers/PEFT keys (unet./text_encoder. ...
  lora_A/lora_B) with diffusers' lora_adapter_metadata (unet r=4,
  lora_alpha=2; none for the text encoder, so its alpha is its rank); one
  layer is also in the kohya file, so merging both stacks two patches.
- tiny-a-diffusers-old.safetensors: diffusers' older attention-processor
  keys (...processor.to_out_lora.down.weight) and text-encoder
  lora_linear_layer keys; alpha = rank.

merged-reference.safetensors holds, for every patched layer, the float32
weight after merging all three files with the multipliers in manifest.json:
W + sum(m * alpha / rank * up @ down), computed in float64 from the stored
(float16-rounded where stored so) values, in LDM key space. The LoRA names
are mapped to LDM names by the explicit table below, written by hand for
tiny-a's topology (test/fixtures/tiny-a/model-config.json), independently
of the converter's own mapping.

clip_out_lora.npy: the text encoder's last hidden state (after the final
layer norm) for tiny-a's clip_tokens.npy with the merged weights, from a
plain float64 CLIP text transformer written here (causal mask, quick_gelu);
the same function on the unmerged weights is first checked against tiny-a's
golden clip_out.npy (from OpenAI's CLIP code).

unet_out_lora.npy: the same for the UNet (CompVis's UNetModel written out
plainly in float64, checked first against tiny-a's unet_out.npy) on tiny-a's
unet_in_latent/unet_in_context/unet_in_temb.

Deterministic: running the script twice gives identical files.
"""

import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
TINY_A = os.path.join(ROOT, 'test', 'fixtures', 'tiny-a')
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'lora')

U = 'model.diffusion_model.'
TE = 'cond_stage_model.transformer.text_model.'

# kohya module name -> LDM weight name, by hand for tiny-a: num_res_blocks 2,
# channel_mult [1, 1, 2, 2], attention at levels 0-2. down_blocks.L.resnets.j
# / attentions.j are input_blocks[1 + 3L + j].0 / .1, downsamplers are
# input_blocks[3 + 3L].0.op; up_blocks.U (level 3 - U) are output_blocks
# [3U + j], with the upsampler after the attention (.2) where there is one,
# else at .1.
KOHYA_UNET = {
    'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q': 'input_blocks.1.1.transformer_blocks.0.attn1.to_q',
    'lora_unet_down_blocks_1_attentions_1_transformer_blocks_0_attn2_to_k': 'input_blocks.5.1.transformer_blocks.0.attn2.to_k',
    'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0': 'middle_block.1.transformer_blocks.0.attn1.to_out.0',
    'lora_unet_up_blocks_3_attentions_1_transformer_blocks_0_ff_net_0_proj': 'output_blocks.10.1.transformer_blocks.0.ff.net.0.proj',
    'lora_unet_up_blocks_2_attentions_0_transformer_blocks_0_ff_net_2': 'output_blocks.6.1.transformer_blocks.0.ff.net.2',
    'lora_unet_down_blocks_0_attentions_1_proj_in': 'input_blocks.2.1.proj_in',
    'lora_unet_up_blocks_3_attentions_2_proj_out': 'output_blocks.11.1.proj_out',
    'lora_unet_down_blocks_0_resnets_1_conv1': 'input_blocks.2.0.in_layers.2',
    'lora_unet_up_blocks_2_resnets_0_conv_shortcut': 'output_blocks.6.0.skip_connection',
    'lora_unet_down_blocks_1_resnets_0_time_emb_proj': 'input_blocks.4.0.emb_layers.1',
    'lora_unet_down_blocks_0_downsamplers_0_conv': 'input_blocks.3.0.op',
    'lora_unet_up_blocks_2_upsamplers_0_conv': 'output_blocks.8.2.conv',
    'lora_unet_time_embedding_linear_1': 'time_embed.0',
    'lora_unet_conv_in': 'input_blocks.0.0',
}

TE_LAYERS = ['self_attn_q_proj', 'self_attn_k_proj', 'self_attn_v_proj', 'self_attn_out_proj', 'mlp_fc1', 'mlp_fc2']

MULTIPLIERS = {'kohya': 0.8, 'peft': -0.5, 'old': 1.0}


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {'F32': np.float32, 'F16': np.float16, 'I64': np.int64, 'I32': np.int32}
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        out[name] = np.frombuffer(data[a:b], dtype=dtypes[e['dtype']]).reshape(e['shape'])
    return out


def write_safetensors(path, tensors, metadata=None):
    codes = {np.dtype(np.float32): 'F32', np.dtype(np.float16): 'F16'}
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': codes[arr.dtype], 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    js = json.dumps(header, separators=(',', ':')).encode('utf-8')
    js += b' ' * ((8 - (8 + len(js)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


class Patches:
    """The LoRA pairs of all files, for the float64 merge."""

    def __init__(self):
        self.by_ldm = {}

    def add(self, ldm, down, up, alpha, multiplier):
        rank = down.shape[0]
        scale = multiplier * (rank if alpha is None else float(alpha)) / rank
        d = torch.from_numpy(down.astype(np.float64)).reshape(rank, -1)
        u = torch.from_numpy(up.astype(np.float64)).reshape(up.shape[0], rank)
        self.by_ldm.setdefault(ldm, []).append(scale * (u @ d))

    def merged(self, weights):
        out = {}
        for ldm, deltas in self.by_ldm.items():
            w = torch.from_numpy(weights[ldm].astype(np.float64))
            total = w.reshape(w.shape[0], -1).clone()
            for delta in deltas:
                total += delta
            out[ldm] = total.reshape(w.shape).numpy().astype(np.float32)
        return out


def lora_pair(rng, w_shape, rank, kind, dtype):
    """down/up with a delta comparable to tiny-a's weights: kind 'linear' gives
    [r, in] and [out, r], 'conv' gives [r, in, kh, kw] and [out, r, 1, 1]."""
    out, inp = w_shape[0], w_shape[1]
    k = w_shape[2:] if kind == 'conv' else ()
    fan_in = inp * int(np.prod(k)) if k else inp
    down = rng.standard_normal((rank, inp, *k)) / np.sqrt(fan_in)
    up = rng.standard_normal((out, rank, *((1, 1) if kind == 'conv' else ()))) * 0.5 / np.sqrt(rank)
    return down.astype(dtype), up.astype(dtype)


def make_kohya(rng, weights, patches):
    tensors = {}
    entries = [(k, U + v + '.weight') for k, v in KOHYA_UNET.items()]
    for layer in range(2):
        for name in TE_LAYERS:
            ldm = f'{TE}encoder.layers.{layer}.{name.replace("self_attn_", "self_attn.").replace("mlp_", "mlp.")}.weight'
            entries.append((f'lora_te_text_model_encoder_layers_{layer}_{name}', ldm))
    ranks = [4, 2, 8, 4]
    # alpha: absent, float16, float32, and values below, equal to and above the rank
    alphas = [None, (1.0, np.float16), (8.0, np.float32), None, (4.0, np.float16), (16.0, np.float32), (0.5, np.float16)]
    for i, (kohya, ldm) in enumerate(entries):
        w_shape = weights[ldm].shape
        # proj_in is a 1x1 conv in LDM; its pair is shaped as a Linear's, as LoRAs trained on SD 2.x-style models are
        kind = 'conv' if len(w_shape) == 4 and not kohya.endswith('proj_in') else 'linear'
        rank = ranks[i % len(ranks)]
        dtype = np.float32 if i % 5 == 2 else np.float16
        down, up = lora_pair(rng, w_shape, rank, kind, dtype)
        tensors[f'{kohya}.lora_down.weight'] = down
        tensors[f'{kohya}.lora_up.weight'] = up
        alpha = alphas[i % len(alphas)]
        if alpha is not None:
            tensors[f'{kohya}.alpha'] = np.array(alpha[0], dtype=alpha[1])
        patches.add(ldm, down, up, None if alpha is None else tensors[f'{kohya}.alpha'], MULTIPLIERS['kohya'])
    meta = {'ss_network_module': 'networks.lora', 'ss_base_model_version': 'sd_v1'}
    return tensors, meta


def make_peft(rng, weights, patches):
    # diffusers path -> LDM name, by hand (same tiny-a topology as above)
    layers = {
        'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q': U + 'input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight',
        'unet.mid_block.attentions.0.proj_in': U + 'middle_block.1.proj_in.weight',
        'unet.up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_v': U + 'output_blocks.7.1.transformer_blocks.0.attn2.to_v.weight',
        'text_encoder.text_model.encoder.layers.1.mlp.fc2': TE + 'encoder.layers.1.mlp.fc2.weight',
        'text_encoder.text_model.encoder.layers.0.self_attn.k_proj': TE + 'encoder.layers.0.self_attn.k_proj.weight',
    }
    unet_r, unet_alpha = 4, 2.0
    tensors = {}
    for i, (module, ldm) in enumerate(layers.items()):
        w_shape = weights[ldm].shape
        rank = unet_r if module.startswith('unet.') else 2 + i
        down, up = lora_pair(rng, w_shape, rank, 'linear', np.float32)
        tensors[f'{module}.lora_A.weight'] = down
        tensors[f'{module}.lora_B.weight'] = up
        patches.add(ldm, down, up, unet_alpha if module.startswith('unet.') else None, MULTIPLIERS['peft'])
    meta = {'format': 'pt', 'lora_adapter_metadata': json.dumps({'unet.r': unet_r, 'unet.lora_alpha': unet_alpha, 'unet.target_modules': ['to_q', 'to_v', 'proj_in']})}
    return tensors, meta


def make_old_diffusers(rng, weights, patches):
    layers = {
        'down_blocks.1.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora': U + 'input_blocks.4.1.transformer_blocks.0.attn1.to_out.0.weight',
        'up_blocks.3.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora': U + 'output_blocks.9.1.transformer_blocks.0.attn2.to_k.weight',
        'text_encoder.text_model.encoder.layers.0.self_attn.v_proj.lora_linear_layer': TE + 'encoder.layers.0.self_attn.v_proj.weight',
    }
    tensors = {}
    for module, ldm in layers.items():
        down, up = lora_pair(rng, weights[ldm].shape, 4, 'linear', np.float16)
        tensors[f'{module}.down.weight'] = down
        tensors[f'{module}.up.weight'] = up
        patches.add(ldm, down, up, None, MULTIPLIERS['old'])
    return tensors, None


def layer_norm(x, w, b, eps=1e-5):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def clip_forward(weights, tokens, heads):
    """CLIP's text transformer in float64 on tokens [batch, n]: last hidden state after the final layer norm."""
    t = {k[len(TE):]: torch.from_numpy(v.astype(np.float64)) for k, v in weights.items() if k.startswith(TE)}
    ids = torch.from_numpy(tokens.astype(np.int64))
    b, n = ids.shape
    x = t['embeddings.token_embedding.weight'][ids] + t['embeddings.position_embedding.weight'][:n]
    mask = torch.full((n, n), float('-inf'), dtype=torch.float64).triu(1)
    layer = 0
    while f'encoder.layers.{layer}.layer_norm1.weight' in t:
        p = lambda name: t[f'encoder.layers.{layer}.{name}']
        lin = lambda h, name: h @ p(f'{name}.weight').T + p(f'{name}.bias')
        h = layer_norm(x, p('layer_norm1.weight'), p('layer_norm1.bias'))
        width = h.shape[-1]
        hd = width // heads
        split = lambda y: y.reshape(b, n, heads, hd).transpose(1, 2)
        q = split(lin(h, 'self_attn.q_proj')) * hd**-0.5
        k = split(lin(h, 'self_attn.k_proj'))
        v = split(lin(h, 'self_attn.v_proj'))
        a = torch.softmax(q @ k.transpose(2, 3) + mask, dim=-1) @ v
        x = x + lin(a.transpose(1, 2).reshape(b, n, width), 'self_attn.out_proj')
        h = lin(layer_norm(x, p('layer_norm2.weight'), p('layer_norm2.bias')), 'mlp.fc1')
        x = x + lin(h * torch.sigmoid(1.702 * h), 'mlp.fc2')
        layer += 1
    return layer_norm(x, t['final_layer_norm.weight'], t['final_layer_norm.bias'])


def group_norm(x, w, b, eps):
    return torch.nn.functional.group_norm(x, 32, w, b, eps)


def unet_forward(weights, latent, context, temb, heads):
    """CompVis's UNetModel (SD v1) in float64, driven by which keys exist (tiny-a's topology differs
    from SD v1.5's); the time input is the sinusoidal embedding itself, as in tiny-a's goldens."""
    t = {k[len(U):]: torch.from_numpy(v.astype(np.float64)) for k, v in weights.items() if k.startswith(U)}
    F = torch.nn.functional
    conv = lambda x, name, **kw: F.conv2d(x, t[f'{name}.weight'], t[f'{name}.bias'], **kw)
    lin = lambda x, name, bias=True: F.linear(x, t[f'{name}.weight'], t[f'{name}.bias'] if bias else None)
    emb = lin(F.silu(lin(torch.from_numpy(temb.astype(np.float64)), 'time_embed.0')), 'time_embed.2')
    ctx = torch.from_numpy(context.astype(np.float64))

    def resblock(x, p):
        h = conv(F.silu(group_norm(x, t[f'{p}.in_layers.0.weight'], t[f'{p}.in_layers.0.bias'], 1e-5)), f'{p}.in_layers.2', padding=1)
        h = h + lin(F.silu(emb), f'{p}.emb_layers.1')[:, :, None, None]
        h = conv(F.silu(group_norm(h, t[f'{p}.out_layers.0.weight'], t[f'{p}.out_layers.0.bias'], 1e-5)), f'{p}.out_layers.3', padding=1)
        skip = conv(x, f'{p}.skip_connection') if f'{p}.skip_connection.weight' in t else x
        return skip + h

    def attention(x, c, p):
        b, n, width = x.shape
        hd = width // heads
        split = lambda y: y.reshape(b, -1, heads, hd).transpose(1, 2)
        q, k, v = split(lin(x, f'{p}.to_q', False)), split(lin(c, f'{p}.to_k', False)), split(lin(c, f'{p}.to_v', False))
        a = torch.softmax(q @ k.transpose(2, 3) * hd**-0.5, dim=-1) @ v
        return lin(a.transpose(1, 2).reshape(b, n, width), f'{p}.to_out.0')

    def transformer(x, p):
        b, c, hh, ww = x.shape
        h = conv(group_norm(x, t[f'{p}.norm.weight'], t[f'{p}.norm.bias'], 1e-6), f'{p}.proj_in')
        h = h.reshape(b, c, hh * ww).transpose(1, 2)
        blk = f'{p}.transformer_blocks.0'
        ln = lambda y, name: layer_norm(y, t[f'{blk}.{name}.weight'], t[f'{blk}.{name}.bias'])
        h = attention(ln(h, 'norm1'), ln(h, 'norm1'), f'{blk}.attn1') + h
        h = attention(ln(h, 'norm2'), ctx, f'{blk}.attn2') + h
        value, gate = lin(ln(h, 'norm3'), f'{blk}.ff.net.0.proj').chunk(2, dim=-1)
        h = lin(value * F.gelu(gate), f'{blk}.ff.net.2') + h
        return conv(h.transpose(1, 2).reshape(b, c, hh, ww), f'{p}.proj_out') + x

    def block(x, p):
        if f'{p}.0.op.weight' in t:
            return conv(x, f'{p}.0.op', stride=2, padding=1)
        x = resblock(x, f'{p}.0')
        for i in (1, 2):
            if f'{p}.{i}.proj_in.weight' in t:
                x = transformer(x, f'{p}.{i}')
            elif f'{p}.{i}.conv.weight' in t:
                x = conv(F.interpolate(x, scale_factor=2, mode='nearest'), f'{p}.{i}.conv', padding=1)
        return x

    h = conv(torch.from_numpy(latent.astype(np.float64)), 'input_blocks.0.0', padding=1)
    skips = [h]
    i = 1
    while f'input_blocks.{i}.0.op.weight' in t or f'input_blocks.{i}.0.in_layers.2.weight' in t:
        h = block(h, f'input_blocks.{i}')
        skips.append(h)
        i += 1
    h = resblock(transformer(resblock(h, 'middle_block.0'), 'middle_block.1'), 'middle_block.2')
    i = 0
    while f'output_blocks.{i}.0.in_layers.2.weight' in t:
        h = block(torch.cat([h, skips.pop()], dim=1), f'output_blocks.{i}')
        i += 1
    return conv(F.silu(group_norm(h, t['out.0.weight'], t['out.0.bias'], 1e-5)), 'out.2', padding=1)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    weights = read_safetensors(os.path.join(TINY_A, 'tiny-a.safetensors'))
    config = json.load(open(os.path.join(TINY_A, 'model-config.json')))
    heads = config['text_encoder']['num_attention_heads']
    tokens = np.load(os.path.join(TINY_A, 'clip_tokens.npy'))

    # The plain CLIP forward must reproduce OpenAI's code on the unmerged weights first.
    golden = np.load(os.path.join(TINY_A, 'clip_out.npy'))
    plain = clip_forward(weights, tokens, heads).numpy()
    err = np.abs(plain - golden).max() / np.abs(golden).max()
    assert err < 1e-5, f'plain CLIP forward differs from clip_out.npy by {err}'

    unet_in = [np.load(os.path.join(TINY_A, f'{n}.npy')) for n in ('unet_in_latent', 'unet_in_context', 'unet_in_temb')]
    unet_heads = config['unet']['num_heads']
    unet_golden = np.load(os.path.join(TINY_A, 'unet_out.npy'))
    unet_plain = unet_forward(weights, *unet_in, unet_heads).numpy()
    unet_err = np.abs(unet_plain - unet_golden).max() / np.abs(unet_golden).max()
    assert unet_err < 1e-5, f'plain UNet forward differs from unet_out.npy by {unet_err}'

    rng = np.random.Generator(np.random.PCG64(20261126))
    patches = Patches()
    files = {
        'tiny-a-kohya.safetensors': make_kohya(rng, weights, patches),
        'tiny-a-peft.safetensors': make_peft(rng, weights, patches),
        'tiny-a-diffusers-old.safetensors': make_old_diffusers(rng, weights, patches),
    }
    for name, (tensors, meta) in files.items():
        write_safetensors(os.path.join(OUT_DIR, name), tensors, meta)
    merged = patches.merged(weights)
    write_safetensors(os.path.join(OUT_DIR, 'merged-reference.safetensors'), dict(sorted(merged.items())))

    all_weights = dict(weights)
    all_weights.update(merged)
    clip_out = clip_forward(all_weights, tokens, heads).numpy().astype(np.float32)
    np.save(os.path.join(OUT_DIR, 'clip_out_lora.npy'), clip_out)
    moved = np.abs(clip_out - golden).max() / np.abs(golden).max()
    unet_out = unet_forward(all_weights, *unet_in, unet_heads).numpy().astype(np.float32)
    np.save(os.path.join(OUT_DIR, 'unet_out_lora.npy'), unet_out)
    unet_moved = np.abs(unet_out - unet_golden).max() / np.abs(unet_golden).max()

    manifest = {
        'made_by': 'scripts/make-lora-fixture.py',
        'torch': torch.__version__,
        'numpy': np.__version__,
        'model': 'test/fixtures/tiny-a (tiny-a.safetensors, model-config.json)',
        'multipliers': {
            'tiny-a-kohya.safetensors': MULTIPLIERS['kohya'],
            'tiny-a-peft.safetensors': MULTIPLIERS['peft'],
            'tiny-a-diffusers-old.safetensors': MULTIPLIERS['old'],
        },
        'merged_layers': len(merged),
        'merge': 'W + sum over files of m * alpha / rank * up @ down in float64, stored float32 (merged-reference.safetensors)',
        'clip_out_lora': 'text encoder output for tiny-a clip_tokens.npy with all three merged (float64, stored float32)',
        'unet_out_lora': 'UNet output for tiny-a unet_in_latent/unet_in_context/unet_in_temb with all three merged (float64, stored float32)',
        'plain_clip_vs_golden_max_rel_err': float(err),
        'plain_unet_vs_golden_max_rel_err': float(unet_err),
        'clip_out_lora_vs_unmerged_max_rel_change': float(moved),
        'unet_out_lora_vs_unmerged_max_rel_change': float(unet_moved),
    }
    with open(os.path.join(OUT_DIR, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    print(json.dumps(manifest, indent=1))


if __name__ == '__main__':
    main()
