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

    /// <summary>
    /// The policy alone, written the way search writes it: chunk by chunk with the same attempt seeds, every chunk
    /// accepted. Against a search with a judge and the same options this is a paired baseline: both draw the same
    /// first attempt of every chunk until the judge first rejects one, so their difference is the judge's doing, not
    /// sampling noise between two unrelated runs.
    /// </summary>
    public static ChunkResetSearch PolicyAlone(ITextGenerator policy, ChunkResetOptions? options = null, Func<string, string>? problemOf = null) =>
        new(policy, AcceptEveryChunk, options, problemOf);

    /// <summary>A judge that accepts every chunk (score 1): the judge of <see cref="PolicyAlone"/>.</summary>
    public static IStepJudge AcceptEveryChunk { get; } = new AcceptEveryStep();

    /// <summary>
    /// Searches a solution for each (prompt, problem). The seed of an attempt depends on <see cref="ChunkResetOptions.Seed"/>,
    /// the problem's place in the list, the chunk's index and the attempt's number only, not on which other problems
    /// are still being searched.
    /// </summary>
    public Task<IReadOnlyList<SearchResult>> SearchAsync(IReadOnlyList<(string Prompt, string Problem)> problems, CancellationToken cancellationToken = default) =>
        SearchAsync(problems, null, cancellationToken);

    /// <summary>Searches with each problem's seed index given (the transformer passes the row's index in its input, so that batches do not share seeds).</summary>
    internal async Task<IReadOnlyList<SearchResult>> SearchAsync(IReadOnlyList<(string Prompt, string Problem)> problems, IReadOnlyList<long>? seedIndices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (seedIndices is not null && seedIndices.Count != problems.Count) throw new ArgumentException($"{seedIndices.Count} seed indices for {problems.Count} problems", nameof(seedIndices));
        var states = problems.Select((p, i) => new State(p.Prompt, p.Problem, seedIndices?[i] ?? i)).ToArray();
        var judging = !ReferenceEquals(judge, AcceptEveryChunk);
        while (states.Any(s => !s.Done))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var active = states.Where(s => !s.Done).ToArray();
            var sampling = new SamplingOptions { MaxNewTokens = _options.ChunkMaxNewTokens, Temperature = _options.Temperature, Stop = [ChunkParser.CloseTag] };
            var requests = active.Select(s => GenerationRequest.FromText(s.Prefix(_options.Separator), sampling with { Seed = AttemptSeed(_options.Seed, s.Index, s.Chunks.Count, s.Attempts.Count) })).ToArray();
            var outputs = await policy.GenerateAsync(requests, cancellationToken).ConfigureAwait(false);

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
            // With ReuseVerdicts, a chunk drawn again word for word at the same point takes the verdict it got before.
            var verdicts = new StepVerdict[toJudge.Count];
            var fresh = new List<int>();
            for (var j = 0; j < toJudge.Count; j++)
            {
                if (_options.ReuseVerdicts && toJudge[j].State.Verdicts.TryGetValue(toJudge[j].Chunk, out var earlier)) verdicts[j] = earlier;
                else fresh.Add(j);
            }
            if (fresh.Count > 0)
            {
                var judged = await judge.JudgeStepsAsync(fresh.Select(j => new JudgeInput(toJudge[j].State.Problem, toJudge[j].State.Chunks.ToArray(), toJudge[j].Chunk)).ToArray(), cancellationToken).ConfigureAwait(false);
                for (var f = 0; f < fresh.Count; f++)
                {
                    var (state, chunk, _) = toJudge[fresh[f]];
                    verdicts[fresh[f]] = judged[f];
                    if (judging) state.JudgeCalls++;
                    state.JudgeTokens += judged[f].GeneratedTokens;
                    if (_options.ReuseVerdicts) state.Verdicts[chunk] = judged[f];
                }
            }
            for (var j = 0; j < toJudge.Count; j++)
            {
                var (state, chunk, tokens) = toJudge[j];
                state.Attempts.Add((chunk, tokens, verdicts[j].Score));
                if (verdicts[j].Positive)
                {
                    state.Accept(state.Attempts.Count - 1, _options.MaxChunks);
                }
                else if (state.Attempts.Count >= _options.MaxTries)
                {
                    state.ExhaustedChunks++;
                    switch (_options.AfterMaxTries)
                    {
                        case AfterMaxTries.Stop:
                            state.RejectedTokens += tokens;
                            state.Done = true;
                            break;
                        case AfterMaxTries.KeepBest:
                            var best = 0;
                            for (var a = 1; a < state.Attempts.Count; a++)
                                if (state.Attempts[a].Score >= state.Attempts[best].Score) best = a;
                            state.RejectedTokens += tokens;
                            state.RejectedTokens -= state.Attempts[best].Tokens;
                            state.Accept(best, _options.MaxChunks);
                            break;
                        default:
                            state.Accept(state.Attempts.Count - 1, _options.MaxChunks);
                            break;
                    }
                }
                else
                {
                    state.RejectedTokens += tokens;
                    state.Resets++;
                }
            }
        }
        return states.Select(s => new SearchResult(ChunkParser.Wrap(s.Chunks, _options.Separator), s.Chunks, s.AcceptedTokens, s.RejectedTokens, s.JudgeCalls, s.Resets, s.ExhaustedChunks, s.JudgeTokens)).ToArray();
    }

    /// <summary>A seed per (search seed, problem, chunk, attempt), mixed so that neighbouring tuples give unrelated streams.</summary>
    internal static long AttemptSeed(long seed, long problem, int chunk, int attempt)
    {
        unchecked
        {
            var x = (ulong)seed;
            foreach (var part in new[] { (ulong)problem, (ulong)chunk, (ulong)attempt })
            {
                x = (x ^ part) + 0x9E3779B97F4A7C15UL;
                x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
                x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
                x ^= x >> 31;
            }
            return (long)(x >> 33); // 31 bits: some OpenAI-compatible servers read the seed as a 32-bit integer
        }
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

    private sealed class State(string prompt, string problem, long index)
    {
        public string Prompt { get; } = prompt;
        public string Problem { get; } = problem;
        public long Index { get; } = index;
        public List<string> Chunks { get; } = [];
        public List<(string Chunk, int Tokens, float Score)> Attempts { get; } = [];
        /// <summary>Verdicts given at the current point (<see cref="ChunkResetOptions.ReuseVerdicts"/>), by chunk text.</summary>
        public Dictionary<string, StepVerdict> Verdicts { get; } = new(StringComparer.Ordinal);
        public int AcceptedTokens, RejectedTokens, JudgeCalls, JudgeTokens, Resets, ExhaustedChunks;
        public bool Done;

        public string Prefix(string separator) => Prompt + string.Concat(Chunks.Select(c => ChunkParser.OpenTag + c + ChunkParser.CloseTag + separator));

        /// <summary>Accepts attempt <paramref name="attempt"/> of the current chunk and moves on to the next chunk.</summary>
        public void Accept(int attempt, int maxChunks)
        {
            var (chunk, tokens, _) = Attempts[attempt];
            Chunks.Add(chunk);
            AcceptedTokens += tokens;
            Attempts.Clear();
            Verdicts.Clear();
            if (chunk.Contains(@"\boxed", StringComparison.Ordinal) || Chunks.Count >= maxChunks) Done = true;
        }
    }

    /// <summary>The judge of <see cref="PolicyAlone"/>: accepts every step.</summary>
    private sealed class AcceptEveryStep : IStepJudge
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StepVerdict>>(inputs.Select(_ => new StepVerdict(true, 1f, "", 0)).ToArray());
    }
}
