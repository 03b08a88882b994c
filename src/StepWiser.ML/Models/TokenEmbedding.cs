using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>Token embedding table with the Hugging Face parameter name <c>weight</c>, allocated without initialising.</summary>
internal sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    /// <summary>(vocab, hidden) embedding matrix.</summary>
    public readonly Parameter weight;

    /// <summary>Allocates an uninitialised (vocab, hidden) table of <paramref name="dtype"/>.</summary>
    public TokenEmbedding(long vocabSize, long hiddenSize, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(TokenEmbedding))
    {
        using (var w = torch.empty(vocabSize, hiddenSize, dtype: dtype, device: device)) weight = nn.Parameter(w);
        RegisterComponents();
    }

    /// <summary>(B, T) token ids → (B, T, hidden).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var flat = weight.index_select(0, ids.reshape(-1));                                          // (B*T, hidden)
        return flat.view([.. ids.shape, weight.shape[1]]).MoveToOuterDisposeScope();                   // (B*T, hidden) -> (B, T, hidden)
    }
}
