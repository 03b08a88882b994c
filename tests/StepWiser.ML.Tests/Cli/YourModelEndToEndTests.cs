using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// "Your own model, end to end" (docs/getting-started.md, section 4): the commands of that section's code block are
/// read from the doc and run as they are, through the samples app as processes, on a small random checkpoint with the
/// real Qwen3 vocabulary and chat template: annotate GSM8K solutions, train a judge, evaluate it on a ProcessBench slice
/// locally and served by <c>serve</c>, search, select, export; then what each wrote is checked, down to an export that
/// reloads with bit-identical logits. The doc cannot drift from what is tested: the test has no commands of its own.
/// </summary>
[TestClass]
public sealed partial class YourModelEndToEndTests
{
    private const string Section = "## 4. Your own model, end to end";
    private const string Build = "dotnet build src/StepWiser.ML.Samples -c Release";
    private const string Alias = "STEPWISER=\"dotnet src/StepWiser.ML.Samples/bin/Release/net10.0/StepWiser.ML.Samples.dll\"";
    private const string Command = "$STEPWISER ";
    private const string DocumentedPort = "8001";
    private const string WaitForServer = "until curl -sf http://127.0.0.1:" + DocumentedPort + "/v1/models >/dev/null; do sleep 1; done";
    private const int QwenVocabulary = 151936;
    private const int QwenEndOfTurn = 151645;
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);

    /// <summary>A command of the doc's block: the app's arguments, and whether it runs in the background (a trailing &amp;).</summary>
    private sealed record Documented(string[] Args, bool Background);

    /// <summary>
    /// The commands of the section's first bash block, continuation lines joined and comments dropped. The build line
    /// and the alias are what the test already has (the app is built beside it), the wait for the server is the test's
    /// wait for serve's start-up line, <c>kill %1</c> stops the background command; any other line is an error, so the
    /// doc holds nothing the test does not run.
    /// </summary>
    private static IReadOnlyList<Documented> DocumentedCommands()
    {
        var doc = File.ReadAllText(Repository.PathOf("docs", "getting-started.md"));
        var at = doc.IndexOf(Section, StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, at, $"docs/getting-started.md has no section \"{Section}\"");
        var open = doc.IndexOf("```bash\n", at, StringComparison.Ordinal) + "```bash\n".Length;
        var block = doc[open..doc.IndexOf("```", open, StringComparison.Ordinal)];
        var lines = block.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        var commands = new List<Documented>();
        foreach (var line in lines)
        {
            if (line is Build or Alias or WaitForServer or "kill %1") continue;
            Assert.StartsWith(Command, line, $"a line of the documented block that the test does not run: {line}");
            var background = line.EndsWith(" &", StringComparison.Ordinal);
            commands.Add(new Documented(Spaces().Split(background ? line[..^2] : line).Skip(1).ToArray(), background));
        }
        Assert.IsTrue(lines.Contains(Build) && lines.Contains(Alias), "the block builds the app and names it $STEPWISER");
        Assert.IsTrue(Array.IndexOf(lines, WaitForServer) == Array.FindIndex(lines, l => l.EndsWith(" &", StringComparison.Ordinal)) + 1, "the block waits for the server it starts");
        return commands;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [TestMethod]
    public void TheDocumentedCommandsAreEveryStepOfThePathInOrder()
    {
        var commands = DocumentedCommands();
        CollectionAssert.AreEqual(new[] { "annotate", "train-judge", "evaluate", "serve", "evaluate", "search", "select", "export" }, commands.Select(c => c.Args[0]).ToArray());
        Assert.IsTrue(commands.Single(c => c.Background).Args[0] == "serve", "only serve runs in the background");
        CollectionAssert.Contains(commands[4].Args, $"http://127.0.0.1:{DocumentedPort}/v1", "the served judge is the one serve started");
        var doc = File.ReadAllText(Repository.PathOf("docs", "getting-started.md"));
        StringAssert.Contains(doc[doc.IndexOf(Section, StringComparison.Ordinal)..], "--device cuda --dtype bf16", "the section shows a GPU user the flags");
    }

    /// <summary>
    /// A random Qwen3-architecture checkpoint, tiny (hidden 64, two layers, tied embedding) but with Qwen3's real
    /// 151,936-token vocabulary, tokenizer and chat template, as a user's downloaded checkpoint would be laid out.
    /// </summary>
    private static void RandomQwenCheckpoint(string dir)
    {
        var config = new ModelConfig
        {
            Architectures = ["Qwen3ForCausalLM"], ModelType = "qwen3", VocabSize = QwenVocabulary, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDimOverride = 16, MaxPositionEmbeddings = 4096, RopeTheta = 1_000_000, RmsNormEps = 1e-6, TieWordEmbeddings = true,
        }.WithEos(QwenEndOfTurn);
        using (var model = CausalLM.CreateRandom(config, seed: 32)) HuggingFaceCheckpoint.Save(model, dir);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(TestData.PathOf("tokenizers", "qwen3", file), Path.Combine(dir, file));
    }

    /// <summary>
    /// Four GSM8K test problems with their reference solutions split into chunks (the calculator marks dropped, the
    /// answer boxed): two cut into one chunk per line, one whole, and one whole with a wrong answer, so that the labels
    /// up to each first negative step hold both classes even for a policy that never finishes a solution right.
    /// </summary>
    private static void WriteInputs(string dir)
    {
        var gsm8k = File.ReadLines(TestData.PathOf("gsm8k", "test.jsonl")).Take(6).Select(l => JsonNode.Parse(l)!).ToArray();
        (string Question, string[] Lines, string Answer) Parse(JsonNode n)
        {
            var lines = n["answer"]!.GetValue<string>().Split('\n');
            var answer = lines[^1].Replace("####", "", StringComparison.Ordinal).Trim();
            return (n["question"]!.GetValue<string>(), lines[..^1].Select(l => CalculatorMarks().Replace(l, "")).ToArray(), answer);
        }
        var solutions = gsm8k.Take(4).Select(Parse).Select((p, i) =>
        {
            var boxed = $"The answer is \\boxed{{{(i == 2 ? p.Answer + "1" : p.Answer)}}}.";
            string[] chunks = i is 1 or 2 ? [string.Join(" ", p.Lines) + " " + boxed] : [.. p.Lines, boxed];
            return new JsonObject { ["prompt"] = p.Question, ["chunks"] = new JsonArray(chunks.Select(c => (JsonNode)c).ToArray()), ["answer"] = p.Answer }.ToJsonString();
        });
        File.WriteAllLines(Path.Combine(dir, "solutions.jsonl"), solutions);
        File.WriteAllLines(Path.Combine(dir, "problems.jsonl"), gsm8k.Skip(4).Select(Parse).Select(p => new JsonObject { ["prompt"] = p.Question, ["answer"] = p.Answer }.ToJsonString()));
        File.Copy(TestData.PathOf("processbench", "gsm8k.json"), Path.Combine(dir, "gsm8k.json"));
    }

    [GeneratedRegex("<<[^>]*>>")]
    private static partial Regex CalculatorMarks();

    private static string FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void YourOwnModelRunsThroughEveryCommandAsDocumented()
    {
        var dir = Directory.CreateTempSubdirectory("your-model").FullName;
        try
        {
            RandomQwenCheckpoint(Path.Combine(dir, "my-model"));
            WriteInputs(dir);
            var port = FreePort();
            var environment = new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "PASSIVE" };
            var clock = Stopwatch.StartNew();
            SamplesApp.Running? server = null;
            try
            {
                foreach (var command in DocumentedCommands())
                {
                    var args = command.Args.Select(a => a.Replace(DocumentedPort, port, StringComparison.Ordinal)).ToArray();
                    if (command.Background)
                    {
                        server = SamplesApp.Start(args, environment, dir);
                        server.WaitForLine(l => l.StartsWith("Serving", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
                        continue;
                    }
                    var (code, stdout, stderr) = SamplesApp.Run(args, Budget, environment, dir);
                    Console.WriteLine($"$ {Command}{string.Join(' ', args)}   [{clock.Elapsed.TotalSeconds:F0} s]\n{stdout}{stderr}");
                    Assert.AreEqual(0, code, $"{Command}{string.Join(' ', args)}\n{stdout}\n{stderr}");
                }
            }
            finally
            {
                server?.Dispose();
            }
            var elapsed = clock.Elapsed;
            Console.WriteLine($"the documented commands took {elapsed.TotalSeconds:F0} s");
            Assert.IsLessThan(Budget, elapsed, "the whole path runs in at most three minutes on a CPU");
            CheckOutputs(dir);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>What the documented run wrote, step by step.</summary>
    private static void CheckOutputs(string dir)
    {
        string P(params string[] parts) => Path.Combine([dir, .. parts]);
        JsonObject[] Lines(string file) => File.ReadAllLines(P(file)).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();

        var labelled = Lines("labelled.jsonl");
        Assert.HasCount(4, labelled);
        Assert.IsTrue(labelled.All(l => l["annotation"]!["prompt_format"]!.GetValue<string>() == "chat" && l["annotation"]!["chat_template"]!.GetValue<string>() == "Qwen3"),
            "the policy was prompted in its own (Qwen3) chat template");
        Assert.IsTrue(labelled.All(l => l["labels_AbsoluteQ"] is JsonArray), "every solution labelled");
        Assert.AreEqual("chat-Qwen3", JsonNode.Parse(File.ReadAllText(P("my-judge", "stepwiser-judge.json")))!["Template"]!.GetValue<string>());

        string[] Predictions(string file) => Lines(file).Select(o => $"{o["id"]}:{o["predicted"]}:{o["verdicts"]!.ToJsonString()}").ToArray();
        Assert.HasCount(3, Predictions("predictions.jsonl"));
        CollectionAssert.AreEqual(Predictions("predictions.jsonl"), Predictions("predictions-served.jsonl"), "the served judge judges as the local one");
        Assert.HasCount(2, Lines("searched.jsonl"));
        Assert.IsTrue(Lines("searched.jsonl").All(l => l["search"]!["chat_template"]!.GetValue<string>() == "Qwen3" && l["correct"] is not null));
        Assert.HasCount(2, Lines("selected.jsonl"));
        Assert.IsTrue(Lines("selected.jsonl").All(l => l["sampled"]!.GetValue<int>() == 2));

        // The export: a folder vLLM and transformers load (bf16 weights, the model's own chat template, the judge's
        // manifest), which reloads with exactly the logits of the trained judge converted to bf16.
        var config = JsonNode.Parse(File.ReadAllText(P("my-judge-bf16", "config.json")))!;
        Assert.AreEqual("bfloat16", config["torch_dtype"]!.GetValue<string>());
        Assert.AreEqual("qwen3", config["model_type"]!.GetValue<string>());
        foreach (var file in new[] { "generation_config.json", "tokenizer.json", "stepwiser-judge.json" }) Assert.IsTrue(File.Exists(P("my-judge-bf16", file)), file);
        Assert.AreEqual(JsonNode.Parse(File.ReadAllText(P("my-model", "tokenizer_config.json")))!["chat_template"]!.GetValue<string>(),
            JsonNode.Parse(File.ReadAllText(P("my-judge-bf16", "tokenizer_config.json")))!["chat_template"]!.GetValue<string>(), "the checkpoint's own chat template, kept");
        using var exported = ModelBundle.Load(P("my-judge-bf16"), CPU, ScalarType.BFloat16);
        using var trained = ModelBundle.Load(P("my-judge"), CPU, ScalarType.BFloat16);
        using var tokens = tensor(exported.Tokenizer.EncodeToIds("Janet’s ducks lay 16 eggs per day.").Select(i => (long)i).ToArray()).unsqueeze(0);
        using var a = exported.Model.Forward(tokens);
        using var b = trained.Model.Forward(tokens);
        Assert.IsTrue(a.equal(b).all().item<bool>(), "identical logits after export and reload");
        Assert.IsGreaterThan(0, a.abs().max().to_type(ScalarType.Float32).item<float>(), "logits that are not all zero");
    }
}
