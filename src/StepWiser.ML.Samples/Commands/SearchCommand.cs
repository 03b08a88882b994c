using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Data;
using StepWiser.ML.Judging;
using StepWiser.ML.Search;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>search</c>: chunk-reset search with your policy and judge (<see cref="ChunkResetSearch"/>) on a JSONL of problems:
/// the policy writes one chunk at a time, the judge checks it, a rejected chunk is written again. Policy and judge are
/// local checkpoints or OpenAI-compatible servers; <c>--policy-alone</c> runs the paired baseline (every chunk accepted).
/// Writes one JSON line per problem.
/// </summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "JSONL of problems: {\"prompt\": the problem, \"answer\": its reference (optional: then accuracy is reported)} per line.", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "JSONL: each problem's fields plus solution, chunks, accepted_tokens, rejected_tokens, judge_calls, judge_tokens, resets, exhausted_chunks and, with an answer, correct.", Required = true };
        var policy = new PolicyOptions();
        var judge = new JudgeOptions();
        var servers = new ServerClientOptions();
        var alone = new Option<bool>("--policy-alone") { Description = "No judge: every chunk accepted, with the same attempt seeds (the paired baseline of a search with the same options)." };
        var maxTries = new Option<int>("--max-tries") { Description = "Attempts per chunk (the paper: 5).", DefaultValueFactory = _ => 5 };
        var after = new Option<string>("--after-max-tries") { Description = "When every attempt of a chunk is rejected: keep-last (go on with the last), keep-best (the one the judge scored highest) or stop.", DefaultValueFactory = _ => "keep-last" };
        var maxChunks = new Option<int>("--max-chunks") { Description = "Most chunks per solution.", DefaultValueFactory = _ => 16 };
        var chunkTokens = new Option<int>("--chunk-max-new-tokens") { Description = "Longest chunk in tokens.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "The policy's sampling temperature (a reset helps only if a new attempt can differ).", DefaultValueFactory = _ => 1f };
        var seed = new Option<long>("--seed") { Description = "Seed of the attempts.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "Problems searched together (one batched policy call and one judge call per round).", DefaultValueFactory = _ => 32 };
        var reuse = new Option<bool>("--reuse-verdicts") { Description = "A chunk drawn again word for word at the same point keeps its earlier verdict (no judge call); right for a greedy judge." };
        var device = new Option<string?>("--device") { Description = "Where a local --policy and --judge run: cpu (default), cuda or cuda:N." };
        var dtype = new Option<string?>("--dtype") { Description = "The weight type of a local --policy and --judge: fp32 (default), bf16 or fp16." };
        var command = new Command("search", "Chunk-reset search with your policy and judge on a JSONL of problems.")
        {
            input, output, alone, maxTries, after, maxChunks, chunkTokens, temperature, seed, batch, reuse, device, dtype,
        };
        foreach (var option in policy.All.Concat(judge.All).Concat(servers.All)) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"search: input file {inputFile.FullName} does not exist.");
            policy.Check(parse, "search");
            var policyAlone = parse.GetValue(alone);
            if (policyAlone && (judge.FolderPath(parse) is not null || !judge.IsLocal(parse)))
                return Cli.Fail("search: --policy-alone runs without a judge; leave out --judge and --judge-url.");
            if (!policyAlone) judge.Check(parse, "search");
            var anyLocal = policy.FolderPath(parse) is not null || (!policyAlone && judge.IsLocal(parse));
            if (!anyLocal && (parse.GetValue(device) is not null || parse.GetValue(dtype) is not null))
                return Cli.Fail("search: --device and --dtype apply to a local --policy or --judge; servers choose their own.");
            var options = new ChunkResetOptions
            {
                MaxTries = parse.GetValue(maxTries), MaxChunks = parse.GetValue(maxChunks), ChunkMaxNewTokens = parse.GetValue(chunkTokens), Temperature = parse.GetValue(temperature),
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batch), ReuseVerdicts = parse.GetValue(reuse), AfterMaxTries = After(parse.GetValue(after)!),
            };
            Cli.AtLeast("--max-tries", options.MaxTries, 1);
            Cli.AtLeast("--max-chunks", options.MaxChunks, 1);
            Cli.AtLeast("--chunk-max-new-tokens", options.ChunkMaxNewTokens, 1);
            Cli.AtLeast("--batch-size", options.BatchSize, 1);
            Cli.InRange("--temperature", options.Temperature, 0, 100);
            servers.Check(parse);
            var prompt = policy.Prompt(parse, "search");
            var outputPath = parse.GetValue(output)!.FullName;
            var guard = new PathGuard().InputFile("--input", inputFile.FullName);
            if (policy.FolderPath(parse) is { } policyDir) guard.InputFolder("--policy", policyDir);
            if (judge.FolderPath(parse) is { } judgeDir) guard.InputFolder("--judge", judgeDir);
            guard.OutputFile("--output", outputPath).Check();
            Cli.CheckOutputFile("--output", outputPath);
            var torchDevice = Cli.Device(parse.GetValue(device) ?? "cpu");
            var torchDtype = Cli.DType(parse.GetValue(dtype) ?? "fp32");
            var problems = ProblemFile.Read(inputFile.FullName, answerRequired: false);
            if (problems.Count == 0) return Cli.Fail($"search: {inputFile.FullName} holds no problems (empty or blank lines only); nothing written.");

            using var opened = await policy.OpenAsync(parse, servers, "search", torchDevice, torchDtype, cancellationToken);
            using var openedJudge = policyAlone ? null : await judge.OpenAsync(parse, servers, "search", torchDevice, torchDtype, null, cancellationToken);
            string PromptOf(Problem p) => prompt.Build(p.Prompt, []);
            ProblemFile.CheckContext("search", inputFile.FullName, problems, PromptOf, options.MaxChunks * options.ChunkMaxNewTokens, "--max-chunks × --chunk-max-new-tokens",
                opened.Bundle, openedJudge?.Transformer);
            Console.Error.WriteLine($"policy {opened.Description}; prompts {prompt.Format}; judge {openedJudge?.Description ?? "none (--policy-alone)"}; {problems.Count} problems in {inputFile.Name}");

            var ml = new MLContext();
            var data = ml.Data.LoadFromEnumerable(problems.Select(p => new PromptRow { Prompt = PromptOf(p), Problem = p.Prompt }));
            var estimator = policyAlone ? ml.StepWiser().Search.PolicyAlone(opened.Generator, options) : ml.StepWiser().Search.ChunkReset(opened.Generator, openedJudge!.Transformer.Judge, options);
            var rows = ml.Data.CreateEnumerable<SearchRow>(estimator.Fit(data).Transform(data), reuseRowObject: false).ToArray();
            var verifier = new MathAnswerVerifier();
            var metadata = new JsonObject
            {
                ["policy"] = opened.Identity, ["judge"] = openedJudge?.Description ?? "none", ["max_tries"] = options.MaxTries, ["after_max_tries"] = parse.GetValue(after),
                ["max_chunks"] = options.MaxChunks, ["chunk_max_new_tokens"] = options.ChunkMaxNewTokens, ["temperature"] = options.Temperature, ["seed"] = options.Seed,
            };
            foreach (var (key, value) in prompt.Metadata) metadata[key] = value;
            var correct = new List<bool>();
            JsonLines.Write(outputPath, problems.Zip(rows), x =>
            {
                var (p, r) = x;
                var o = p.Source.DeepClone().AsObject();
                o["solution"] = r.SearchedSolution;
                o["chunks"] = new JsonArray(r.SearchedChunks.Select(c => (JsonNode)c).ToArray());
                o["accepted_tokens"] = r.AcceptedTokens;
                o["rejected_tokens"] = r.RejectedTokens;
                o["judge_calls"] = r.JudgeCalls;
                o["judge_tokens"] = r.JudgeTokens;
                o["resets"] = r.Resets;
                o["exhausted_chunks"] = r.ExhaustedChunks;
                if (p.Answer is not null)
                {
                    var right = verifier.Verify(r.SearchedSolution, p.Answer).IsCorrect;
                    correct.Add(right);
                    o["correct"] = right;
                }
                o["search"] = metadata.DeepClone();
                return o.ToJsonString();
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"searched {rows.Length} problems: {(correct.Count == 0 ? "no answers to check" : $"accuracy {correct.Count(c => c) / (double)correct.Count:P1} ({correct.Count(c => c)} of {correct.Count})")}, accepted tokens {rows.Average(r => r.AcceptedTokens):F1}, rejected tokens {rows.Average(r => r.RejectedTokens):F1}, judge calls {rows.Average(r => r.JudgeCalls):F1} per problem; written to {outputPath}"));
            return 0;
        });
        return command;
    }

    private static AfterMaxTries After(string value) => value switch
    {
        "keep-last" => AfterMaxTries.KeepLast,
        "keep-best" => AfterMaxTries.KeepBest,
        "stop" => AfterMaxTries.Stop,
        _ => throw new CliException($"search: unknown --after-max-tries '{value}' (keep-last, keep-best or stop)."),
    };

    /// <summary>A row of the search's input: what the policy continues and the problem the judge reads.</summary>
    private sealed class PromptRow
    {
        public string Prompt { get; set; } = "";
        public string Problem { get; set; } = "";
    }
}
