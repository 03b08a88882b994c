namespace StepWiser.ML.Search;

/// <summary>The outcome of chunk-reset search on one problem.</summary>
/// <param name="Solution">The accepted chunks in the policy format (tags and separators).</param>
/// <param name="Chunks">The accepted chunks.</param>
/// <param name="AcceptedTokens">Tokens of the accepted chunks (0 when the engine does not report token ids).</param>
/// <param name="RejectedTokens">Tokens of the discarded attempts (a rejected attempt kept after <see cref="ChunkResetOptions.MaxTries"/> counts as accepted).</param>
/// <param name="JudgeCalls">Steps judged (0 for <see cref="ChunkResetSearch.PolicyAlone"/>, which judges nothing).</param>
/// <param name="Resets">Rejected attempts that were regenerated.</param>
/// <param name="ExhaustedChunks">Chunks whose every attempt was rejected: kept (<see cref="AfterMaxTries.KeepLast"/>, <see cref="AfterMaxTries.KeepBest"/>) or where the solution stopped (<see cref="AfterMaxTries.Stop"/>).</param>
/// <param name="JudgeTokens">Tokens the judge generated for those calls (<see cref="Judging.StepVerdict.GeneratedTokens"/>): with the accepted and rejected tokens, what the search cost in generation.</param>
public sealed record SearchResult(string Solution, IReadOnlyList<string> Chunks, int AcceptedTokens, int RejectedTokens, int JudgeCalls, int Resets, int ExhaustedChunks, int JudgeTokens = 0);
