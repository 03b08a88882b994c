using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Models;

/// <summary>Configurations of the built-in small models (Qwen2 architecture, <see cref="BuiltInTokenizer"/> vocabulary).</summary>
public static class BuiltInModels
{
    /// <summary>About 0.1 M parameters: for tests that train in seconds.</summary>
    public static ModelConfig Tiny { get; } = Make(hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 176);

    /// <summary>About 0.9 M parameters: the default policy and judge of the built-in world.</summary>
    public static ModelConfig Small { get; } = Make(hidden: 128, layers: 4, heads: 4, kvHeads: 2, intermediate: 352);

    /// <summary>About 6 M parameters: the larger preset.</summary>
    public static ModelConfig Medium { get; } = Make(hidden: 256, layers: 6, heads: 8, kvHeads: 4, intermediate: 704);

    /// <summary>A Qwen2 configuration over the built-in tokenizer.</summary>
    public static ModelConfig Make(int hidden, int layers, int heads, int kvHeads, int intermediate, int maxPositions = 2048) =>
        new ModelConfig
        {
            Architectures = ["Qwen2ForCausalLM"],
            ModelType = "qwen2",
            VocabSize = BuiltInTokenizer.VocabularySize,
            HiddenSize = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            IntermediateSize = intermediate,
            MaxPositionEmbeddings = maxPositions,
            RopeTheta = 10000,
            RmsNormEps = 1e-6,
            TieWordEmbeddings = true,
            BosTokenId = null,
        }.WithEos(BuiltInTokenizer.EndOfTextId);
}
