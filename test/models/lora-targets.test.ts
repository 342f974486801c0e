// The layer names LoRA files use for full-size SD v1.5, written out here
// from the structure of diffusers' UNet2DConditionModel and CLIPTextModel
// (what kohya-ss/sd-scripts names its modules after): a standard kohya LoRA
// patches 192 UNet and 72 text-encoder Linear layers, LoCon adds the convs.
import { describe, expect, it } from 'vitest';
import { SD15_CONFIG } from '../../src/models/config.js';
import { parseLoraKey } from '../../src/models/lora/lora-keys.js';
import { loraTargets } from '../../src/models/lora/lora-targets.js';

const targets = loraTargets(SD15_CONFIG);
const U = 'model.diffusion_model.';

/** Diffusers paths of SD v1.5's 16 transformer blocks' parent attentions, with their channel counts. */
function attentions(): [string, number][] {
  const out: [string, number][] = [];
  [320, 640, 1280].forEach((c, level) => [0, 1].forEach((j) => out.push([`down_blocks.${level}.attentions.${j}`, c])));
  out.push(['mid_block.attentions.0', 1280]);
  [1280, 640, 320].forEach((c, i) => [0, 1, 2].forEach((j) => out.push([`up_blocks.${i + 1}.attentions.${j}`, c])));
  return out;
}

describe('SD v1.5 LoRA layer names', () => {
  it('the 192 UNet and 72 text-encoder layers of a standard kohya LoRA, with their shapes', () => {
    const expected = new Map<string, number[]>();
    for (const [path, c] of attentions()) {
      const block = `${path}.transformer_blocks.0`;
      expected.set(`${path}.proj_in`, [c, c, 1, 1]);
      expected.set(`${path}.proj_out`, [c, c, 1, 1]);
      for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) expected.set(`${block}.attn1.${p}`, [c, c]);
      expected.set(`${block}.attn2.to_q`, [c, c]);
      expected.set(`${block}.attn2.to_k`, [c, 768]);
      expected.set(`${block}.attn2.to_v`, [c, 768]);
      expected.set(`${block}.attn2.to_out.0`, [c, c]);
      expected.set(`${block}.ff.net.0.proj`, [8 * c, c]);
      expected.set(`${block}.ff.net.2`, [c, 4 * c]);
    }
    expect(expected.size).toBe(192);
    for (const [path, shape] of expected) {
      const kohya = `lora_unet_${path.replaceAll('.', '_')}`;
      expect(targets.kohya.get(kohya)?.shape, kohya).toEqual(shape);
      expect(targets.diffusers.get(`unet.${path}`)?.ldmName, path).toBe(targets.kohya.get(kohya)!.ldmName);
    }
    for (let layer = 0; layer < 12; layer++) {
      const layers: [string, string, number[]][] = [
        ['self_attn_q_proj', 'self_attn.q_proj', [768, 768]],
        ['self_attn_k_proj', 'self_attn.k_proj', [768, 768]],
        ['self_attn_v_proj', 'self_attn.v_proj', [768, 768]],
        ['self_attn_out_proj', 'self_attn.out_proj', [768, 768]],
        ['mlp_fc1', 'mlp.fc1', [3072, 768]],
        ['mlp_fc2', 'mlp.fc2', [768, 3072]],
      ];
      for (const [kohyaName, path, shape] of layers) {
        const kohya = `lora_te_text_model_encoder_layers_${layer}_${kohyaName}`;
        const ldmName = `cond_stage_model.transformer.text_model.encoder.layers.${layer}.${path}.weight`;
        expect(targets.kohya.get(kohya), kohya).toEqual({ part: 'text_encoder', ldmName, shape });
      }
    }
  });

  it('LoCon conv layers and their LDM names', () => {
    const cases: [string, string, number[]][] = [
      ['lora_unet_conv_in', 'input_blocks.0.0.weight', [320, 4, 3, 3]],
      ['lora_unet_conv_out', 'out.2.weight', [4, 320, 3, 3]],
      ['lora_unet_time_embedding_linear_2', 'time_embed.2.weight', [1280, 1280]],
      ['lora_unet_down_blocks_0_resnets_1_conv2', 'input_blocks.2.0.out_layers.3.weight', [320, 320, 3, 3]],
      ['lora_unet_down_blocks_1_resnets_0_conv_shortcut', 'input_blocks.4.0.skip_connection.weight', [640, 320, 1, 1]],
      ['lora_unet_down_blocks_2_downsamplers_0_conv', 'input_blocks.9.0.op.weight', [1280, 1280, 3, 3]],
      ['lora_unet_down_blocks_3_resnets_1_time_emb_proj', 'input_blocks.11.0.emb_layers.1.weight', [1280, 1280]],
      ['lora_unet_mid_block_resnets_1_conv1', 'middle_block.2.in_layers.2.weight', [1280, 1280, 3, 3]],
      ['lora_unet_up_blocks_0_upsamplers_0_conv', 'output_blocks.2.1.conv.weight', [1280, 1280, 3, 3]],
      ['lora_unet_up_blocks_2_upsamplers_0_conv', 'output_blocks.8.2.conv.weight', [640, 640, 3, 3]],
      ['lora_unet_up_blocks_3_resnets_2_conv_shortcut', 'output_blocks.11.0.skip_connection.weight', [320, 640, 1, 1]],
    ];
    for (const [kohya, ldm, shape] of cases) {
      expect(targets.kohya.get(kohya), kohya).toEqual({ part: 'unet', ldmName: U + ldm, shape });
    }
    // Norms, biases, embeddings and the VAE are not LoRA layers.
    for (const name of ['lora_unet_down_blocks_0_resnets_0_norm1', 'lora_te_text_model_embeddings_token_embedding', 'lora_te_text_model_final_layer_norm', 'lora_vae_decoder_conv_in']) {
      expect(targets.kohya.has(name), name).toBe(false);
    }
    expect(targets.kohya.size).toBe(targets.diffusers.size);
  });

  it('reads the key namings of kohya, PEFT and diffusers', () => {
    expect(parseLoraKey('lora_unet_mid_block_attentions_0_proj_in.lora_down.weight')).toEqual({ naming: 'kohya', module: 'lora_unet_mid_block_attentions_0_proj_in', role: 'down' });
    expect(parseLoraKey('lora_te_text_model_encoder_layers_3_mlp_fc1.alpha')).toEqual({ naming: 'kohya', module: 'lora_te_text_model_encoder_layers_3_mlp_fc1', role: 'alpha' });
    expect(parseLoraKey('unet.up_blocks.1.attentions.0.proj_out.lora_B.weight')).toEqual({ naming: 'diffusers', module: 'unet.up_blocks.1.attentions.0.proj_out', role: 'up' });
    expect(parseLoraKey('base_model.model.text_model.encoder.layers.0.mlp.fc2.lora_A.weight')).toEqual({ naming: 'diffusers', module: 'text_encoder.text_model.encoder.layers.0.mlp.fc2', role: 'down' });
    expect(parseLoraKey('base_model.model.down_blocks.0.attentions.0.proj_in.lora_A.weight')).toEqual({ naming: 'diffusers', module: 'unet.down_blocks.0.attentions.0.proj_in', role: 'down' });
    expect(parseLoraKey('unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora.up.weight')).toEqual({ naming: 'diffusers', module: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k', role: 'up' });
    expect(parseLoraKey('mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight')).toEqual({ naming: 'diffusers', module: 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0', role: 'up' });
    expect(parseLoraKey('unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_v_lora.down.weight')).toEqual({ naming: 'diffusers', module: 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_v', role: 'down' });
  });
});
