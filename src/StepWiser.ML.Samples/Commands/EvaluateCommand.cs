using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>evaluate</c>: runs a judge, saved (<c>--judge</c>) or served (<c>--judge-url</c>), over ProcessBench-format files and
/// prints the ProcessBench table.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var judge = new JudgeOptions();
        var servers = new ServerClientOptions();
        var input = new Option<FileInfo[]>("--input") { Description = "ProcessBench-format JSON files (e.g. ../shared/data/processbench/gsm8k.json).", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<FileInfo?>("--output") { Description = "JSONL of per-record predictions (id, subset, label, predicted, verdicts: true/false per judged step, null for a step the judge did not reach)." };
        var limit = new Option<int>("--limit") { Description = "Records per file (0 = all).", DefaultValueFactory = _ => 0 };
        var device = new Option<string?>("--device") { Description = "With a local --judge: where it runs, cpu (default), cuda or cuda:N (needs the CUDA backend package)." };
        var dtype = new Option<string?>("--dtype") { Description = "With a local --judge: its weight type, fp32 (default), bf16 or fp16." };
        var command = new Command("evaluate", "Evaluate a judge, saved or served, on ProcessBench-format files.") { input, output, limit, device, dtype };
        foreach (var option in judge.All.Concat(servers.All)) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            judge.Check(parse, "evaluate");
            var judgeDir = judge.FolderPath(parse);
            var local = judge.IsLocal(parse);
            if (!local && (parse.GetValue(device) is not null || parse.GetValue(dtype) is not null))
                return Cli.Fail("evaluate: --device and --dtype apply to a local --judge; a --judge-url server chooses its own.");
            servers.Check(parse);
            var files = parse.GetValue(input)!;
            foreach (var f in files) if (!f.Exists) return Cli.Fail($"evaluate: input file {f.FullName} does not exist.");
            var take = parse.GetValue(limit);
            Cli.AtLeast("--limit", take, 0);
            var outFile = parse.GetValue(output);
            if (outFile is not null)
            {
                var guard = new PathGuard();
                if (judgeDir is not null) guard.InputFolder("--judge", judgeDir);
                foreach (var f in files) guard.InputFile("--input", f.FullName);
                guard.OutputFile("--output", outFile.FullName).Check();
                Cli.CheckOutputFile("--output", outFile.FullName);
            }
            var torchDevice = Cli.Device(parse.GetValue(device) ?? "cpu");
            var torchDtype = Cli.DType(parse.GetValue(dtype) ?? "fp32");
            // Every file is read and checked before the judge is loaded.
            var read = files.SelectMany(f => (take > 0 ? ProcessBench.Read(f.FullName).Take(take) : ProcessBench.Read(f.FullName)).Select((r, i) => (File: f.FullName, Index: i, Record: r))).ToArray();
            if (read.Length == 0) return Cli.Fail($"evaluate: {string.Join(", ", files.Select(f => f.Name))} hold{(files.Length == 1 ? "s" : "")} no records; nothing to evaluate (no output written).");
            RequireUniqueIds(read);
            var records = read.Select(x => x.Record).ToArray();
            var ml = new MLContext();
            // A local judge loads straight onto the device in its type: the device never holds a float32 copy.
            using var opened = await judge.OpenAsync(parse, servers, "evaluate", torchDevice, torchDtype, o => o with { ChunksColumnName = "Steps" }, cancellationToken);
            var transformer = opened.Transformer;
            Console.Error.WriteLine($"judge {opened.Description}");
            CheckContext(read, transformer);
            var predicted = new int[records.Length];
            var verdicts = new bool[records.Length][];
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var size = Math.Max(1, transformer.Judge.Options.BatchSize);
            for (var start = 0; start < records.Length; start += size)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chunk = records.Skip(start).Take(size).ToArray();
                var judged = transformer.Transform(ml.Data.LoadFromEnumerable(chunk));
                judged.GetColumn<int>(transformer.Judge.Options.FirstRejectedColumnName).ToArray().CopyTo(predicted, start);
                judged.GetColumn<bool[]>(transformer.Judge.Options.VerdictsColumnName).ToArray().CopyTo(verdicts, start);
                var done = start + chunk.Length;
                var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (records.Length - done));
                Console.Error.WriteLine($"  judged {done}/{records.Length} records, ETA {eta:mm\\:ss}");
            }
            var stops = transformer.Judge.Options.StopAtFirstNegative;
            if (outFile is not null)
                AtomicFile.WriteText(outFile.FullName, writer =>
                {
                    for (var i = 0; i < records.Length; i++)
                        writer.WriteLine(new JsonObject
                        {
                            ["id"] = records[i].Id, ["subset"] = records[i].Subset, ["label"] = records[i].Label, ["predicted"] = predicted[i],
                            // A judge that stops at the first rejected step never looked at the steps after it: null, not false.
                            ["verdicts"] = new JsonArray(verdicts[i].Select((v, k) => stops && predicted[i] >= 0 && k > predicted[i] ? null : (JsonNode)v).ToArray()),
                        }.ToJsonString());
                });
            Console.WriteLine(ProcessBenchMetrics.Compute(records.Select((r, i) => (r.Subset, r.Label, predicted[i]))));
            return 0;
        });
        return command;
    }

    /// <summary>The same record twice (a file given twice, or two subsets' files with one name) would be counted twice.</summary>
    private static void RequireUniqueIds((string File, int Index, ProcessBenchRecord Record)[] read)
    {
        var seen = new Dictionary<(string Subset, string Id), (string File, int Index)>();
        foreach (var (file, index, record) in read)
            if (!seen.TryAdd((record.Subset, record.Id), (file, index)))
            {
                var first = seen[(record.Subset, record.Id)];
                throw new CliException($"evaluate: {file}: record {index} has the id \"{record.Id}\" of subset {record.Subset}, as record {first.Index} of {first.File} has; each record may be judged once (is a file given twice?)");
            }
    }

    /// <summary>
    /// Before any judging: the judge's prompt for every record's last step (the longest: it holds every earlier step)
    /// plus the judge's new tokens must fit its context; past it the verdicts mean nothing. The first record that does
    /// not fit is named.
    /// </summary>
    private static void CheckContext((string File, int Index, ProcessBenchRecord Record)[] read, StepwiseJudgeTransformer transformer)
    {
        if (transformer.Model is not { } bundle) return;
        var context = bundle.Model.Config.MaxPositionEmbeddings;
        var template = transformer.Judge.Template;
        // A result-first judge's turn 2 also holds its turn-1 line: counted at its longest, with the new tokens.
        var maxNew = transformer.Judge.Options.MaxNewTokens + (template.ResultFirst?.TurnOneTokens ?? 0);
        foreach (var (file, index, record) in read)
        {
            var step = new JudgeInput(record.Problem, record.Steps[..^1], record.Steps[^1]);
            var prompt = template.Render(template.ResultFirst is { } resultFirst && resultFirst.Claim(step.Chunk) is not null ? step with { Reference = "" } : step);
            var tokens = prompt.Length > (long)Cli.MaxCharactersPerToken * context ? int.MaxValue : bundle.Tokenizer.CountTokens(prompt);
            if (tokens > context - maxNew)
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"evaluate: {file}: record {index} (id \"{record.Id}\"): the judge's prompt for its last step is {(tokens == int.MaxValue ? $"{prompt.Length:N0} characters" : $"{tokens:N0} tokens")}; with the judge's {maxNew} new tokens it exceeds the judge's context of {context} tokens (max_position_embeddings). Leave that record out or use a judge with a longer context."));
        }
    }
}
