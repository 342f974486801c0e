/**
 * clip.tflite, signature `encode`: token ids int32 [1, 77] → the CLIP text
 * encoder's last hidden state after the final layer norm, [1, 77, hidden]
 * (Hugging Face CLIPTextModel, as SD v1 uses it: causal self-attention,
 * pre-LN layers, quick_gelu).
 *
 * `clipSkip` (SD tools' "CLIP skip"): 1 reads the last layer; N reads the
 * hidden state N-1 layers before it, still through the final layer norm, so
 * the layers after it are left out of the graph.
 */
import type { TextEncoderConfig } from '../config.js';
import { TEXT_ENCODER_PREFIX } from '../ldm-layout/index.js';
import type { Nn } from '../graph/nn.js';

export function buildClip(nn: Nn, t: TextEncoderConfig, clipSkip = 1): void {
  if (!(Number.isInteger(clipSkip) && clipSkip >= 1 && clipSkip <= t.num_hidden_layers)) {
    throw new RangeError(`clip skip must be a whole number from 1 to ${t.num_hidden_layers} (the text encoder's layers), got ${clipSkip}`);
  }
  const g = nn.g;
  const P = TEXT_ENCODER_PREFIX;
  const eps = t.layer_norm_eps;
  const length = t.max_position_embeddings;
  const tokens = g.input('args_0', 'INT32', [1, length]); // [1, L]
  const tokenEmbedding = nn.w.embedding(`${P}embeddings.token_embedding.weight`); // [vocab, C]
  let x = g.gather(tokenEmbedding, tokens, 0); // [1, L, C]
  x = g.add(x, nn.w.param(`${P}embeddings.position_embedding.weight`)); // [1, L, C] (position ids 0..L-1)
  const mask = nn.causalMask(length); // [1, 1, L, L]
  for (let i = 0; i < t.num_hidden_layers - (clipSkip - 1); i++) {
    const layer = `${P}encoder.layers.${i}`;
    const attn = `${layer}.self_attn`;
    const h = nn.layerNorm(x, `${layer}.layer_norm1`, eps); // [1, L, C]
    const names = { q: `${attn}.q_proj`, k: `${attn}.k_proj`, v: `${attn}.v_proj`, out: `${attn}.out_proj` };
    x = g.add(x, nn.multiHeadAttention(h, h, t.num_attention_heads, names, { qkvBias: true, mask })); // [1, L, C]
    const f = nn.linear(nn.layerNorm(x, `${layer}.layer_norm2`, eps), `${layer}.mlp.fc1`); // [1, L, 4C]
    const act = t.hidden_act === 'quick_gelu' ? nn.quickGelu(f) : g.gelu(f); // [1, L, 4C]
    x = g.add(x, nn.linear(act, `${layer}.mlp.fc2`)); // [1, L, C]
  }
  const out = nn.layerNorm(x, `${P}final_layer_norm`, eps); // [1, L, C]
  g.markOutput(out);
  g.model.addSignature('encode', { args_0: tokens.id }, { output_0: out.id });
}
