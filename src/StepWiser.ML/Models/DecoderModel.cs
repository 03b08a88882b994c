using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>The decoder stack (Hugging Face's <c>model.*</c>): token embedding, layers and the final norm.</summary>
internal sealed class DecoderModel : nn.Module
{
    private readonly ModelConfig _config;

    [ComponentName(Name = "embed_tokens")] private readonly TokenEmbedding _embedTokens;
    [ComponentName(Name = "layers")] private readonly ModuleList<DecoderLayer> _layers;
    [ComponentName(Name = "norm")] private readonly RmsNorm _norm;

    /// <summary>Allocates the stack described by <paramref name="config"/>.</summary>
    public DecoderModel(ModelConfig config, Device? device, ScalarType dtype) : base(nameof(DecoderModel))
    {
        _config = config;
        _embedTokens = new TokenEmbedding(config.VocabSize, config.HiddenSize, device, dtype);
        _layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, device, dtype)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        InverseFrequencies = RotaryEmbedding.InverseFrequencies(config);
        RegisterComponents();
    }

    /// <summary>The rotary embedding's D/2 inverse frequencies (<see cref="RotaryEmbedding.InverseFrequencies"/>).</summary>
    public float[] InverseFrequencies { get; }

    /// <summary>The token embedding (shared with the output head when embeddings are tied).</summary>
    public TokenEmbedding EmbedTokens => _embedTokens;

    /// <summary>
    /// (B, T) token ids at (B, T) positions → (B, T, hidden) final hidden states.
    /// <paramref name="mask"/>: (B, 1, T, L) boolean, or null for plain causal attention without cache.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor positions, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var x = _embedTokens.forward(inputIds);
        var (cos, sin) = RotaryEmbedding.Tables(positions, InverseFrequencies, x.dtype);
        // Attention folds the query heads of one kv head into the query axis; the (B, 1, T, L) mask is tiled to match
        // once here, not in every layer.
        var groups = _config.NumAttentionHeads / _config.KeyValueHeads;
        var folded = mask is not null && groups > 1 ? mask.repeat(1, 1, groups, 1) : mask;              // (B, 1, G*T, L)
        // A decode step (one new token a row) on the CPU attends with plain products and an additive mask made once here,
        // not per layer (Attention takes a floating-point mask as that path); on a GPU, SDPA's fused kernels stay.
        if (folded is not null && inputIds.shape[1] == 1 && x.device.type == DeviceType.CPU)
            folded = zeros(folded.shape, dtype: x.dtype, device: x.device).masked_fill_(folded.logical_not(), KeptScalars.NegativeInfinity);   // kept scalar
        foreach (var layer in _layers) x = layer.Forward(x, cos, sin, folded, cache);
        return _norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The training pass with activation checkpointing: <paramref name="lossOfHidden"/> of the final hidden states of
    /// (B, T) ids at (B, T) positions (plain causal attention), back-propagated into the parameters' gradients; returns
    /// the loss, detached. The layers first run without recording, keeping only each layer's (B, T, hidden) input; the
    /// loss is then recorded from the last layer's output (final norm included) and back-propagated to it; then each
    /// layer, last to first, runs again from its kept input, recording, and is back-propagated alone with the gradient
    /// at its output, which yields the gradient at its input for the layer before it; the embedding last. Every
    /// parameter receives the gradient of the plain pass (the same chain rule, one layer at a time); only one layer's
    /// intermediate activations exist at a time, for the cost of a second forward pass through the layers.
    /// </summary>
    public Tensor ForwardBackwardCheckpointed(Tensor inputIds, Tensor positions, Func<Tensor, Tensor> lossOfHidden)
    {
        using var scope = NewDisposeScope();
        var inputs = new Tensor[_layers.Count];
        Tensor x, cos, sin;
        using (no_grad())
        {
            x = _embedTokens.forward(inputIds);                                                          // (B, T, H)
            (cos, sin) = RotaryEmbedding.Tables(positions, InverseFrequencies, x.dtype);
            for (var l = 0; l < _layers.Count; l++)
            {
                inputs[l] = x;
                x = _layers[l].Forward(x, cos, sin, null, null);                                         // (B, T, H)
            }
        }
        x.requires_grad_(true);
        Tensor loss;
        using (var head = NewDisposeScope())
        {
            // What the loss made is freed before the layers run again.
            loss = lossOfHidden(_norm.forward(x));
            loss.backward();
            loss = loss.detach().MoveToOuterDisposeScope();
        }
        var grad = x.grad!;                                                                              // (B, T, H) at the last layer's output
        x.Dispose();
        for (var l = _layers.Count - 1; l >= 0; l--)
        {
            using var layerScope = NewDisposeScope();
            var input = inputs[l].requires_grad_(true);
            _layers[l].Forward(input, cos, sin, null, null).backward([grad]);
            grad.Dispose();
            grad = input.grad!.MoveToOuterDisposeScope();                                                // (B, T, H) at the layer's input
            input.Dispose();
        }
        _embedTokens.forward(inputIds).backward([grad]);
        grad.Dispose();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The layers, in order.</summary>
    public IList<DecoderLayer> Layers => _layers;

    /// <summary>The final norm.</summary>
    public RmsNorm Norm => _norm;

    /// <summary>Re-fuses every layer's projections after a move (<see cref="FusedProjections.Rebind"/>).</summary>
    public void RebindFused()
    {
        foreach (var layer in _layers) layer.RebindFused();
    }

    /// <summary>Whether inference uses fused projections in every layer.</summary>
    public bool IsFused => _layers.All(l => l.IsFused);
}
