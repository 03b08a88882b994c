using Microsoft.ML.Data;

namespace StepWiser.ML.Search;

/// <summary>The columns chunk-reset search adds under their default names, for <c>mlContext.Data.CreateEnumerable</c>.</summary>
public sealed class SearchRow
{
    /// <summary>The searched solution (chunk-tagged).</summary>
    public string SearchedSolution { get; set; } = "";

    /// <summary>Its accepted chunks.</summary>
    [VectorType] public string[] SearchedChunks { get; set; } = [];

    /// <summary>Tokens of the accepted chunks.</summary>
    public int AcceptedTokens { get; set; }

    /// <summary>Tokens of the rejected tries.</summary>
    public int RejectedTokens { get; set; }

    /// <summary>Judge calls made.</summary>
    public int JudgeCalls { get; set; }

    /// <summary>Tokens the judge generated for those calls (its analyses and verdicts; 0 for a judge that generates nothing).</summary>
    public int JudgeTokens { get; set; }

    /// <summary>Chunks written again after a rejection.</summary>
    public int Resets { get; set; }

    /// <summary>Chunks whose every attempt was rejected.</summary>
    public int ExhaustedChunks { get; set; }
}
