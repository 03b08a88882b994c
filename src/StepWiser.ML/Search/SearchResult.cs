namespace StepWiser.ML.Search;

/// <summary>The outcome of chunk-reset search on one problem.</summary>
/// <param name="Solution">The accepted chunks in the policy format (tags and separators).</param>
/// <param name="Chunks">The accepted chunks.</param>
/// <param name="AcceptedTokens">Tokens of the accepted chunks (0 when the engine does not report token ids).</param>
/// <param name="RejectedTokens">Tokens of the rejected attempts.</param>
/// <param name="JudgeCalls">Steps judged.</param>
/// <param name="Resets">Rejected attempts that were regenerated.</param>
/// <param name="KeptAfterMaxTries">Chunks kept after their last attempt was also rejected.</param>
public sealed record SearchResult(string Solution, IReadOnlyList<string> Chunks, int AcceptedTokens, int RejectedTokens, int JudgeCalls, int Resets, int KeptAfterMaxTries);
