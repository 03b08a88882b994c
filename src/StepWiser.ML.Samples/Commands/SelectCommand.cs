using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Selection;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>select</c>: training-data selection with your policy and judge (<see cref="JudgeDataSelection"/>) on a JSONL of
/// problems with reference answers: N solutions sampled per problem, the correct ones scored by the judge's mean chunk
/// score; the judge's pick and an outcome-only pick (a random correct one) per problem. Policy and judge are local
/// checkpoints or OpenAI-compatible servers. Writes one JSON line per problem.
/// </summary>
internal static class SelectCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "JSONL of problems: {\"prompt\": the problem, \"answer\": its reference} per line.", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "JSONL: each problem's fields plus sampled, correct_count, judge_selected, judge_score, outcome_selected, correct_solutions and correct_scores (null picks when no sample was correct).", Required = true };
        var policy = new PolicyOptions();
        var judge = new JudgeOptions();
        var servers = new ServerClientOptions();
        var samples = new Option<int>("--samples") { Description = "Solutions sampled per problem (N).", DefaultValueFactory = _ => 8 };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Longest solution in tokens.", DefaultValueFactory = _ => 1024 };
        var temperature = new Option<float>("--temperature") { Description = "The policy's sampling temperature.", DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { Description = "Seed of the samples and of the outcome-only pick.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "Problems selected together (their samples and judge calls batched).", DefaultValueFactory = _ => 64 };
        var device = new Option<string?>("--device") { Description = "Where a local --policy and --judge run: cpu (default), cuda or cuda:N." };
        var dtype = new Option<string?>("--dtype") { Description = "The weight type of a local --policy and --judge: fp32 (default), bf16 or fp16." };
        var command = new Command("select", "Judge-based selection of fine-tuning data with your policy and judge on a JSONL of problems.")
        {
            input, output, samples, maxTokens, temperature, seed, batch, device, dtype,
        };
        foreach (var option in policy.All.Concat(judge.All).Concat(servers.All)) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"select: input file {inputFile.FullName} does not exist.");
            policy.Check(parse, "select");
            judge.Check(parse, "select");
            if (policy.FolderPath(parse) is null && !judge.IsLocal(parse) && (parse.GetValue(device) is not null || parse.GetValue(dtype) is not null))
                return Cli.Fail("select: --device and --dtype apply to a local --policy or --judge; servers choose their own.");
            Cli.AtLeast("--samples", parse.GetValue(samples), 1);
            Cli.AtLeast("--max-new-tokens", parse.GetValue(maxTokens), 1);
            Cli.AtLeast("--batch-size", parse.GetValue(batch), 1);
            Cli.InRange("--temperature", parse.GetValue(temperature), 0, 100);
            servers.Check(parse);
            var prompt = policy.Prompt(parse, "select");
            var outputPath = parse.GetValue(output)!.FullName;
            var guard = new PathGuard().InputFile("--input", inputFile.FullName);
            if (policy.FolderPath(parse) is { } policyDir) guard.InputFolder("--policy", policyDir);
            if (judge.FolderPath(parse) is { } judgeDir) guard.InputFolder("--judge", judgeDir);
            guard.OutputFile("--output", outputPath).Check();
            Cli.CheckOutputFile("--output", outputPath);
            var torchDevice = Cli.Device(parse.GetValue(device) ?? "cpu");
            var torchDtype = Cli.DType(parse.GetValue(dtype) ?? "fp32");
            var problems = ProblemFile.Read(inputFile.FullName, answerRequired: true);
            if (problems.Count == 0) return Cli.Fail($"select: {inputFile.FullName} holds no problems (empty or blank lines only); nothing written.");

            using var opened = await policy.OpenAsync(parse, servers, "select", torchDevice, torchDtype, cancellationToken);
            using var openedJudge = await judge.OpenAsync(parse, servers, "select", torchDevice, torchDtype, null, cancellationToken);
            string PromptOf(Problem p) => prompt.Build(p.Prompt, []);
            ProblemFile.CheckContext("select", inputFile.FullName, problems, PromptOf, parse.GetValue(maxTokens), "--max-new-tokens", opened.Bundle, openedJudge.Transformer);
            Console.Error.WriteLine($"policy {opened.Description}; prompts {prompt.Format}; judge {openedJudge.Description}; {problems.Count} problems in {inputFile.Name}");

            var options = new JudgeDataSelectionOptions
            {
                Sampling = new SamplingOptions { NumSamples = parse.GetValue(samples), MaxNewTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature), Seed = parse.GetValue(seed) },
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batch),
            };
            var ml = new MLContext();
            var data = ml.Data.LoadFromEnumerable(problems.Select(p => new ProblemRow { Prompt = PromptOf(p), Problem = p.Prompt, Answer = p.Answer! }));
            var selection = ml.StepWiser().Selection.ByJudge(opened.Generator, openedJudge.Transformer.Judge, new MathAnswerVerifier(), options);
            var rows = ml.Data.CreateEnumerable<SelectionRow>(selection.Fit(data).Transform(data), reuseRowObject: false).ToArray();
            var metadata = new JsonObject
            {
                ["policy"] = opened.Identity, ["judge"] = openedJudge.Description, ["samples"] = options.Sampling.NumSamples, ["max_new_tokens"] = options.Sampling.MaxNewTokens,
                ["temperature"] = options.Sampling.Temperature, ["seed"] = options.Seed,
            };
            foreach (var (key, value) in prompt.Metadata) metadata[key] = value;
            JsonLines.Write(outputPath, problems.Zip(rows), x =>
            {
                var (p, r) = x;
                var o = p.Source.DeepClone().AsObject();
                var any = r.CorrectCount > 0 && r.JudgeSelected.Length > 0;
                o["sampled"] = r.Sampled;
                o["correct_count"] = r.CorrectCount;
                o["judge_selected"] = any ? r.JudgeSelected : null;
                o["judge_score"] = any && float.IsFinite(r.JudgeScore) ? r.JudgeScore : null;
                o["outcome_selected"] = any ? r.OutcomeSelected : null;
                o["correct_solutions"] = new JsonArray(r.CorrectSolutions.Select(s => (JsonNode)s).ToArray());
                o["correct_scores"] = new JsonArray(r.CorrectScores.Select(s => (JsonNode)s).ToArray());
                o["selection"] = metadata.DeepClone();
                return o.ToJsonString();
            });
            var picked = rows.Count(r => r.CorrectCount > 0 && r.JudgeSelected.Length > 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"selected from {rows.Sum(r => r.Sampled):N0} samples of {rows.Length} problems: {rows.Sum(r => r.CorrectCount):N0} correct; a pick for {picked} problems ({rows.Length - picked} without a correct sample); written to {outputPath}"));
            return 0;
        });
        return command;
    }

    /// <summary>A row of the selection's input: what the policy continues, the problem the judge reads, and the reference.</summary>
    private sealed class ProblemRow
    {
        public string Prompt { get; set; } = "";
        public string Problem { get; set; } = "";
        public string Answer { get; set; } = "";
    }
}
