using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// Broken checkpoints (non-finite weights, impossible config values, a tokenizer whose ids the model does not have, a
/// malformed tokenizer_config.json) are refused when they are loaded, by every command that loads one, with exit 2 and
/// one line naming the file and the tensor or field; nothing is written from them and no earlier file changes.
/// </summary>
[TestClass]
public sealed class CorruptCheckpointTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static void Fill(CausalLM model, string tensor, float value, bool oneRow = false)
    {
        var parameter = model.named_parameters().Single(p => p.name == tensor).parameter;
        if (oneRow) parameter[3].fill_(value);
        else parameter.fill_(value);
    }

    /// <summary>Each broken checkpoint, and what its error must name.</summary>
    private static IEnumerable<(string Folder, string[] Expected)> Breakages(Workspace w)
    {
        yield return (w.Checkpoint("nan-weights", damage: m => Fill(m, "model.layers.1.mlp.up_proj.weight", float.NaN)), ["model.safetensors", "model.layers.1.mlp.up_proj.weight", "NaN"]);
        yield return (w.Checkpoint("inf-embedding", damage: m => Fill(m, "model.embed_tokens.weight", float.PositiveInfinity, oneRow: true)), ["model.safetensors", "model.embed_tokens.weight", "infinit"]);
        var rope = w.Checkpoint("rope-theta-0");
        Workspace.SetConfig(rope, "rope_theta", 0);
        yield return (rope, ["config.json", "rope_theta"]);
        var eps = w.Checkpoint("rms-eps-negative");
        Workspace.SetConfig(eps, "rms_norm_eps", -1e-6);
        yield return (eps, ["config.json", "rms_norm_eps"]);
        var positions = w.Checkpoint("positions-0");
        Workspace.SetConfig(positions, "max_position_embeddings", 0);
        yield return (positions, ["config.json", "max_position_embeddings"]);
        // The built-in tokenizer has ids up to 260; a model with 258 embeddings cannot read <chunk> or </chunk>.
        yield return (w.Checkpoint("vocab-mismatch", BuiltInModels.Tiny with { VocabSize = 258 }), ["tokenizer.json", "vocab_size"]);
        var tokenizerConfig = w.Checkpoint("bad-tokenizer-config");
        File.WriteAllText(Path.Combine(tokenizerConfig, "tokenizer_config.json"), "{\"chat_template\": ");
        yield return (tokenizerConfig, ["tokenizer_config.json"]);
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void EveryCommandRefusesABrokenCheckpointAtLoadNamingTheFileAndTheTensorOrField()
    {
        using var w = Workspace.Create("corrupt");
        var solutions = w.Solutions("in.jsonl", 2);
        var output = w.Write("out.jsonl", "EARLIER OUTPUT\n");
        var trl = w.Write("trl.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\n");
        var benchmark = w.Benchmark("bench.json", 2);
        var breakages = Breakages(w).ToArray();
        var judges = new[]
        {
            (w.Judge("judge-nan", m => Fill(m, "model.norm.weight", float.NaN)), new[] { "model.safetensors", "model.norm.weight" }),
        };
        var before = w.Snapshot();
        var cases = breakages.SelectMany(b => new (string[] Args, string[] Expected)[]
        {
            (["annotate", "--input", solutions, "--output", output, "--policy", b.Folder, "--rollouts", "2", "--max-new-tokens", "8"], b.Expected),
            (["train-judge", "--input", trl, "--base", b.Folder, "--output", w.PathOf("judge-" + Path.GetFileName(b.Folder)), "--steps", "1", "--max-new-tokens", "8"], b.Expected),
            (["serve", "--model", b.Folder, "--port", "0"], b.Expected),
        }).Concat(judges.Select(j => (Args: new[] { "evaluate", "--judge", j.Item1, "--input", benchmark, "--output", output }, Expected: j.Item2))).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = 2 }, c =>
        {
            try { Workspace.ExpectFailure(c.Args, 2, Limit, c.Expected); }
            catch (AssertFailedException e) { failures.Add(e.Message.Replace(w.Root, "…", StringComparison.Ordinal)); }
        });
        Assert.IsEmpty(failures, $"{failures.Count} of {cases.Length} cases failed:\n" + string.Join("\n", failures.Order()));
        Assert.IsEmpty(w.AssertUnchanged(before, "broken checkpoints"), "nothing was created");
    }
}
