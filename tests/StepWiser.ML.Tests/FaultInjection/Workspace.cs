using System.Security.Cryptography;
using System.Text.Json.Nodes;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// A temporary folder holding what a fault-injection case starts from (tiny random checkpoints, judges, solution and
/// benchmark files), and the checks every case makes: the exit code, exactly one <c>error:</c> line naming what was
/// wrong, no stack trace, and every file that was there before byte-identical afterwards.
/// </summary>
internal sealed class Workspace : IDisposable
{
    private Workspace(string root) => Root = root;

    /// <summary>The folder (deleted by <see cref="Dispose"/>).</summary>
    public string Root { get; }

    /// <summary>A new empty workspace.</summary>
    public static Workspace Create(string name) => new(Directory.CreateTempSubdirectory("fault-" + name).FullName);

    /// <summary>A path inside the workspace.</summary>
    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Writes a text file and returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Writes a file of raw bytes and returns its path.</summary>
    public string WriteBytes(string name, byte[] bytes)
    {
        var path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// Saves a random built-in Tiny model (or <paramref name="config"/>) with the built-in tokenizer as a checkpoint
    /// folder; <paramref name="damage"/> may change its weights before they are written.
    /// </summary>
    public string Checkpoint(string name, ModelConfig? config = null, Action<CausalLM>? damage = null)
    {
        var dir = PathOf(name);
        using var model = CausalLM.CreateRandom(config ?? BuiltInModels.Tiny, seed: 1);
        if (damage is not null)
        {
            using var noGrad = no_grad();
            damage(model);
        }
        HuggingFaceCheckpoint.Save(model, dir);
        BuiltInTokenizer.Save(dir);
        return dir;
    }

    /// <summary>A saved stepwise judge over a random Tiny model (compact template, short responses).</summary>
    public string Judge(string name, Action<CausalLM>? damage = null, int maxNewTokens = 8)
    {
        var dir = PathOf(name);
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        if (damage is not null)
        {
            using var noGrad = no_grad();
            damage(model);
        }
        using var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(model), JudgeTemplate.Compact, new StepwiseJudgeOptions { MaxNewTokens = maxNewTokens, BatchSize = 4 });
        judge.Save(dir);
        return dir;
    }

    /// <summary>Rewrites one field of a folder's config.json.</summary>
    public static void SetConfig(string dir, string field, JsonNode value)
    {
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[field] = value;
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>An annotation input of <paramref name="count"/> solutions of the built-in world.</summary>
    public string Solutions(string name, int count, int seed = 1) =>
        Write(name, string.Join("\n", WorldPolicyFixture.World.Generate("fault-" + name, count, seed).Select(p => new JsonObject
        {
            ["prompt"] = p.Prompt, ["solution"] = p.ChunkedSolution, ["answer"] = p.AnswerText,
        }.ToJsonString())) + "\n");

    /// <summary>A ProcessBench-format file of short records (ids r0, r1, …; each with three steps).</summary>
    public string Benchmark(string name, int count) =>
        Write(name, new JsonArray(Enumerable.Range(0, count).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = $"r{i}", ["generator"] = "test", ["problem"] = $"Start with {i}. Add 2.",
            ["steps"] = new JsonArray("Add 2.", $"{i}+2={i + 2}", $"The answer is \\boxed{{{i + 2}}}."),
            ["final_answer_correct"] = true, ["label"] = -1,
        }).ToArray()).ToJsonString());

    /// <summary>SHA-256 of every file under the workspace, by relative path.</summary>
    public Dictionary<string, string> Snapshot() =>
        Directory.GetFiles(Root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(Root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>Fails unless every file of <paramref name="before"/> is still there with the same bytes; lists files created since.</summary>
    public IReadOnlyList<string> AssertUnchanged(Dictionary<string, string> before, string what)
    {
        var after = Snapshot();
        var changed = before.Where(kv => !after.TryGetValue(kv.Key, out var now) || now != kv.Value).Select(kv => kv.Key).ToArray();
        Assert.IsEmpty(changed, $"{what}: earlier files changed or removed: {string.Join(", ", changed)}");
        return after.Keys.Except(before.Keys).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>
    /// Runs the CLI and checks its failure: exit <paramref name="code"/>, exactly one line starting with <c>error:</c>
    /// that contains every one of <paramref name="expected"/>, no stack trace.
    /// </summary>
    public static string ExpectFailure(string[] args, int code, TimeSpan timeout, params string[] expected)
    {
        var (exit, stdout, stderr) = SamplesApp.Run(args, timeout);
        var what = $"[{string.Join(' ', args)}] exit {exit}; stderr: {stderr.Trim()}";
        Assert.AreEqual(code, exit, what);
        var errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.HasCount(1, errors, what);
        foreach (var e in expected) StringAssert.Contains(errors[0], e, what);
        Assert.DoesNotContain("   at ", stderr + stdout, what);
        return errors[0];
    }
}
