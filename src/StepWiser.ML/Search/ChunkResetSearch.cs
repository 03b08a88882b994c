using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Search;

/// <summary>
/// Chunk-reset search (docs/judging-evaluation-search.md): the policy writes one chunk at a time (it stops at <c>&lt;/chunk&gt;</c>), the
/// judge checks it, and a rejected chunk is discarded and regenerated from the same point, up to
/// <see cref="ChunkResetOptions.MaxTries"/> attempts. All problems advance together: one policy call and one judge call
/// per round. It is itself an <see cref="ITextGenerator"/> (a searched policy): each request's prompt is searched.
/// </summary>
/// <param name="policy">The policy (local or remote).</param>
/// <param name="judge">The judge (local, remote or any <see cref="IStepJudge"/>).</param>
/// <param name="options">Search options.</param>
/// <param name="problemOf">The problem text the judge reads for a prompt (default: the prompt, trimmed).</param>
public sealed class ChunkResetSearch(ITextGenerator policy, IStepJudge judge, ChunkResetOptions? options = null, Func<string, string>? problemOf = null) : ITextGenerator
{
    private readonly ChunkResetOptions _options = Validated(options ?? new ChunkResetOptions());
    private readonly Func<string, string> _problemOf = problemOf ?? (p => p.Trim());

    /// <summary>Searches a solution for each (prompt, problem).</summary>
    public async Task<IReadOnlyList<SearchResult>> SearchAsync(IReadOnlyList<(string Prompt, string Problem)> problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var states = problems.Select(p => new State(p.Prompt, p.Problem)).ToArray();
        var round = 0;
        while (states.Any(s => !s.Done))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var active = states.Where(s => !s.Done).ToArray();
            var sampling = new SamplingOptions { MaxNewTokens = _options.ChunkMaxNewTokens, Temperature = _options.Temperature, Stop = [ChunkParser.CloseTag] };
            var requests = active.Select((s, i) => GenerationRequest.FromText(s.Prefix(_options.Separator), sampling with { Seed = _options.Seed * 1_000_003 + round * 10_007L + i })).ToArray();
            var outputs = await policy.GenerateAsync(requests, cancellationToken).ConfigureAwait(false);
            round++;

            var toJudge = new List<(State State, string Chunk, int Tokens)>();
            for (var i = 0; i < active.Length; i++)
            {
                var sample = outputs[i].Samples[0];
                var text = sample.Text.TrimStart();
                if (!text.StartsWith(ChunkParser.OpenTag, StringComparison.Ordinal) || text.Length == ChunkParser.OpenTag.Length)
                {
                    active[i].Done = true; // the policy ended the solution (or wrote nothing chunk-like)
                    continue;
                }
                toJudge.Add((active[i], text[ChunkParser.OpenTag.Length..].Trim(), sample.TokenIds.Count));
            }
            if (toJudge.Count == 0) continue;
            var verdicts = await judge.JudgeStepsAsync(toJudge.Select(t => new JudgeInput(t.State.Problem, t.State.Chunks.ToArray(), t.Chunk)).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < toJudge.Count; j++)
            {
                var (state, chunk, tokens) = toJudge[j];
                state.JudgeCalls++;
                state.Tries++;
                if (verdicts[j].Positive || state.Tries >= _options.MaxTries)
                {
                    if (!verdicts[j].Positive)
                    {
                        state.KeptAfterMaxTries++;
                        if (!_options.KeepLastAttempt) { state.RejectedTokens += tokens; state.Done = true; continue; }
                    }
                    state.Chunks.Add(chunk);
                    state.AcceptedTokens += tokens;
                    state.Tries = 0;
                    if (chunk.Contains(@"\boxed", StringComparison.Ordinal) || state.Chunks.Count >= _options.MaxChunks) state.Done = true;
                }
                else
                {
                    state.RejectedTokens += tokens;
                    state.Resets++;
                }
            }
        }
        return states.Select(s => new SearchResult(ChunkParser.Wrap(s.Chunks, _options.Separator), s.Chunks, s.AcceptedTokens, s.RejectedTokens, s.JudgeCalls, s.Resets, s.KeptAfterMaxTries)).ToArray();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        var flat = requests.SelectMany(r => Enumerable.Repeat(r.Prompt ?? throw new ArgumentException("chunk-reset search needs text prompts"), r.Options.NumSamples)).ToArray();
        var results = await SearchAsync(flat.Select(p => (p, _problemOf(p))).ToArray(), cancellationToken).ConfigureAwait(false);
        var output = new List<GenerationResult>();
        var k = 0;
        foreach (var r in requests)
        {
            output.Add(new GenerationResult(results.Skip(k).Take(r.Options.NumSamples).Select(s => new GeneratedSample(s.Solution, [], FinishReason.EndOfSequence)).ToArray()));
            k += r.Options.NumSamples;
        }
        return output;
    }

    private static ChunkResetOptions Validated(ChunkResetOptions o)
    {
        o.Validate();
        return o;
    }

    private sealed class State(string prompt, string problem)
    {
        public string Prompt { get; } = prompt;
        public string Problem { get; } = problem;
        public List<string> Chunks { get; } = [];
        public int Tries;
        public int AcceptedTokens, RejectedTokens, JudgeCalls, Resets, KeptAfterMaxTries;
        public bool Done;

        public string Prefix(string separator) => Prompt + string.Concat(Chunks.Select(c => ChunkParser.OpenTag + c + ChunkParser.CloseTag + separator));
    }
}
