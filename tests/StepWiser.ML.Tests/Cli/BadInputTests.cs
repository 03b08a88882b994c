using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Cli;

/// <summary>
/// The samples app against bad input, table-driven (issue 15): every case must print one <c>error: …</c> line that names
/// what was wrong and where, exit with code 2 (bad input) and no stack trace, and leave every file that was already
/// there untouched (no output is replaced or half-written).
/// </summary>
[TestClass]
public sealed class BadInputTests
{
    [TestMethod]
    [TestCategory("Slow")]
    public void EveryBadInputGetsOneLineNamingItExitCode2AndNoOutputIsTouched()
    {
        var d = Directory.CreateTempSubdirectory("bad-input").FullName;
        try
        {
            // A valid checkpoint (random built-in weights: nothing here needs a trained model) and broken copies of it.
            var good = Path.Combine(d, "ckpt");
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1)) HuggingFaceCheckpoint.Save(model, good);
            BuiltInTokenizer.Save(good);
            string Broken(string name, Action<string> breakIt)
            {
                var dir = Path.Combine(d, name);
                Directory.CreateDirectory(dir);
                foreach (var f in Directory.GetFiles(good)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
                breakIt(dir);
                return dir;
            }
            void SetConfig(string dir, string field, JsonNode value)
            {
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
                config[field] = value;
                File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            }
            var hugeHidden = Broken("ckpt-huge", x => SetConfig(x, "hidden_size", 1_000_000_000));
            var wideHidden = Broken("ckpt-wide", x => SetConfig(x, "hidden_size", 65536));
            var moreLayers = Broken("ckpt-layers", x => SetConfig(x, "num_hidden_layers", 9));
            var bigVocab = Broken("ckpt-vocab", x => SetConfig(x, "vocab_size", 100_000_000));
            var badConfig = Broken("ckpt-badconfig", x => File.WriteAllText(Path.Combine(x, "config.json"), "{"));
            var noWeights = Broken("ckpt-noweights", x => File.Delete(Path.Combine(x, "model.safetensors")));
            var cutWeights = Broken("ckpt-cut", x => { var f = Path.Combine(x, "model.safetensors"); File.WriteAllBytes(f, File.ReadAllBytes(f)[..20]); });
            var noTokenizer = Broken("ckpt-notok", x => File.Delete(Path.Combine(x, "tokenizer.json")));
            var noChatTemplate = Broken("ckpt-nochat", x => File.Delete(Path.Combine(x, "tokenizer_config.json")));

            string W(string name, string text) { var p = Path.Combine(d, name); File.WriteAllText(p, text); return p; }
            var solutions = W("solutions.jsonl", "{\"prompt\":\"Start with 3. Add 4.\",\"chunks\":[\"Add 4.\\n\\n3+4=7\",\"The answer is \\\\boxed{7}.\"],\"answer\":\"7\"}\n");
            var empty = W("empty.jsonl", "");
            var blank = W("blank.jsonl", "\n  \n\n");
            var nullLine = W("null.jsonl", "null\n");
            var notJson = W("notjson.jsonl", "{\"prompt\": \n");
            var arrayLine = W("array.jsonl", "[1, 2]\n");
            var noPrompt = W("noprompt.jsonl", "{\"chunks\":[\"a\"],\"answer\":\"1\"}\n");
            var numPrompt = W("numprompt.jsonl", "{\"prompt\":5,\"chunks\":[\"a\"],\"answer\":\"1\"}\n");
            var noAnswer = W("noanswer.jsonl", "{\"prompt\":\"p\",\"chunks\":[\"a\"]}\n");
            var nullChunk = W("nullchunk.jsonl", "{\"prompt\":\"p\",\"chunks\":[\"a\",null],\"answer\":\"1\"}\n");
            var noChunks = W("nochunks.jsonl", "{\"prompt\":\"p\",\"chunks\":[],\"answer\":\"1\"}\n");
            var trlNullCompletion = W("trl-null.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",null],\"labels\":[true,false]}\n");
            var trlMismatch = W("trl-mismatch.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true]}\n");
            var trlNullLine = W("trl-nullline.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\nnull\n");
            var trlBadLabel = W("trl-badlabel.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\"],\"labels\":[1.5]}\n");
            var trlNoCompletions = W("trl-nocompl.jsonl", "{\"prompt\":\"p\",\"completions\":[],\"labels\":[]}\n");
            var trlOneClass = W("trl-oneclass.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,true]}\n");
            var trlMissing = W("trl-missing.jsonl", "{\"prompt\":\"p\",\"labels\":[true]}\n");
            var trlFirstStepNegativeOnly = W("trl-firstneg.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[false,true]}\n");
            var trlGood = W("trl-good.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\n");
            var pbEmptyFile = W("pb-emptyfile.json", "");
            var pbEmptyArray = W("pb-emptyarray.json", "[]");
            var pbObject = W("pb-object.json", "{\"id\": \"x\"}");
            var pbTruncated = W("pb-truncated.json", "[{\"id\":\"a\",\"problem\":\"p\",\"steps\":[\"s\"],\"label\":0,\"final_answer_correct\":false},{\"id\":");
            string Pb(string name, string label, string steps = "[\"a\",\"b\"]") => W(name, $"[{{\"id\":\"r7\",\"problem\":\"p\",\"steps\":{steps},\"label\":{label},\"final_answer_correct\":false}}]");
            var pbFraction = Pb("pb-fraction.json", "1.5");
            var pbHuge = Pb("pb-huge.json", "10000000000");
            var pbOutOfRange = Pb("pb-range.json", "5");
            var pbStringLabel = Pb("pb-stringlabel.json", "\"1\"");
            var pbNumberStep = Pb("pb-numstep.json", "0", "[1]");
            var pbMissing = W("pb-missing.json", "[{\"id\":\"r1\",\"steps\":[\"a\"],\"label\":0,\"final_answer_correct\":false}]");
            var pbNullRecord = W("pb-null.json", "[null]");
            var store = Path.Combine(d, "store-corrupt");
            Directory.CreateDirectory(store);
            File.WriteAllText(Path.Combine(store, "other.rollouts.jsonl"), "{\"key\":\"a\",\"rewards\":[1]}\n{\"key\":\"b\",\"rewards\":[7]}\n");
            var notJudge = Path.Combine(d, "notjudge");
            Directory.CreateDirectory(notJudge);
            var existing = W("existing.jsonl", "EARLIER OUTPUT\n");
            var existingJudge = Path.Combine(d, "judge-existing");
            Directory.CreateDirectory(existingJudge);
            File.WriteAllText(Path.Combine(existingJudge, "keep.txt"), "EARLIER JUDGE");
            var missingDir = Path.Combine(d, "missing", "out.jsonl");
            var aFile = W("a-file.txt", "not a folder");

            string[] Annotate(string input, params string[] more) => ["annotate", "--input", input, "--output", existing, "--policy", good, .. more];
            string[] Train(string input, params string[] more) => ["train-judge", "--input", input, "--base", good, "--output", Path.Combine(d, "judge-new"), .. more];
            string[] Eval(string input, params string[] more) => ["evaluate", "--judge", notJudge, "--input", input, .. more];
            string[] Serve(params string[] more) => ["serve", "--model", good, .. more];

            var cases = new (string[] Args, string Expected)[]
            {
                // annotate: options
                (Annotate(solutions, "--rollouts", "0"), "--rollouts must be at least 1"),
                (Annotate(solutions, "--rollouts", "-3"), "--rollouts must be at least 1"),
                (Annotate(solutions, "--temperature", "-1"), "--temperature must be at least 0"),
                (Annotate(solutions, "--temperature", "NaN"), "--temperature"),
                (Annotate(solutions, "--max-new-tokens", "0"), "--max-new-tokens must be at least 1"),
                (Annotate(solutions, "--batch-size", "0"), "--batch-size must be at least 1"),
                (Annotate(solutions, "--shard", "3/2"), "--shard must be i/n"),
                (Annotate(solutions, "--shard", "x"), "--shard must be i/n"),
                (Annotate(solutions, "--retries", "-1"), "--retries must be at least 0"),
                (Annotate(solutions, "--max-consecutive-failures", "-1"), "--max-consecutive-failures"),
                (Annotate(solutions, "--rollouts", "many"), "many"),
                (Annotate(solutions, "--scheme", "Best"), "Best"),
                (["annotate", "--input", solutions, "--output", existing], "exactly one of --policy"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", good, "--policy-url", "http://127.0.0.1:1/v1"], "exactly one of --policy"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "not a url"], "not an absolute http(s) URL"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "ftp://x/v1"], "not an absolute http(s) URL"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--timeout", "0"], "--timeout"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--api-key-env", "STEPWISER_TEST_UNSET_VARIABLE"], "STEPWISER_TEST_UNSET_VARIABLE"),
                // annotate: paths
                (["annotate", "--input", Path.Combine(d, "nope.jsonl"), "--output", existing, "--policy", good], "does not exist"),
                (["annotate", "--input", solutions, "--output", missingDir, "--policy", good], "does not exist"),
                (["annotate", "--input", solutions, "--output", d, "--policy", good], "is a folder"),
                (["annotate", "--input", solutions, "--output", solutions, "--policy", good], "is also an input"),
                (["annotate", "--input", solutions, "--output", existing, "--trl", existing, "--policy", good], "same file"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", good, "--store", aFile], "is a file"),
                // annotate: input records
                (Annotate(empty), "holds no solutions"),
                (Annotate(blank), "holds no solutions"),
                (Annotate(nullLine), "null.jsonl:1: not a JSON object"),
                (Annotate(notJson), "notjson.jsonl:1"),
                (Annotate(arrayLine), "array.jsonl:1: not a JSON object"),
                (Annotate(noPrompt), "noprompt.jsonl:1: needs \"prompt\""),
                (Annotate(numPrompt), "numprompt.jsonl:1: needs \"prompt\""),
                (Annotate(noAnswer), "noanswer.jsonl:1: needs \"answer\""),
                (Annotate(nullChunk), "nullchunk.jsonl:1: chunk 1 is not a string"),
                (Annotate(noChunks), "nochunks.jsonl:1: the solution has no chunks"),
                // annotate: checkpoints and store
                (["annotate", "--input", solutions, "--output", existing, "--policy", hugeHidden], "hidden_size"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", wideHidden], "hidden_size"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", moreLayers], "num_hidden_layers = 9"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", bigVocab], "vocab_size"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", badConfig], "config.json"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", noWeights], "model.safetensors"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", cutWeights], "model.safetensors"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", noTokenizer], "no tokenizer.json"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", Path.Combine(d, "nodir")], "nodir"),
                (Annotate(solutions, "--store", store), "other.rollouts.jsonl:2: corrupt rollout record (reward 7"),
                // annotate: device, weight type and prompt format, all checked before the policy loads
                (Annotate(solutions, "--device", "cuda"), "CUDA is not available"),
                (Annotate(solutions, "--device", "tpu"), "--device"),
                (Annotate(solutions, "--dtype", "int8"), "--dtype: unknown type 'int8'"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--dtype", "bf16"], "apply to a local --policy"),
                (Annotate(solutions, "--prompt-format", "plain"), "unknown --prompt-format 'plain'"),
                (Annotate(solutions, "--prompt-format", "raw", "--chat-template", good), "contradict"),
                (Annotate(solutions, "--chat-template", aFile), "a-file.txt"),
                (["annotate", "--input", solutions, "--output", existing, "--policy", noChatTemplate], "--prompt-format raw"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1"], "needs --chat-template"),
                // train-judge
                (Train(trlGood, "--steps", "0"), "--steps must be at least 1"),
                (Train(trlGood, "--group-size", "1"), "--group-size must be at least 2"),
                (Train(trlGood, "--lr", "-1"), "--lr must be greater than 0"),
                (Train(trlGood, "--lr", "5"), "--lr must be greater than 0 and at most 1"),
                (Train(trlGood, "--kl", "-0.5"), "--kl must be at least 0"),
                (Train(trlGood, "--prompts-per-step", "0"), "--prompts-per-step must be at least 1"),
                (Train(trlGood, "--mini-batch", "0"), "--mini-batch must be at least 1"),
                (Train(trlGood, "--max-new-tokens", "0"), "--max-new-tokens must be at least 1"),
                (Train(trlGood, "--device", "cuda"), "CUDA is not available"),
                (Train(trlGood, "--device", "tpu"), "--device"),
                (Train(trlGood, "--dtype", "int8"), "--dtype: unknown type 'int8'"),
                (Train(trlGood, "--template", "fancy"), "unknown --template 'fancy'"),
                (Train(trlGood, "--warmup-steps", "-1"), "--warmup-steps must be at least 0"),
                (Train(trlGood, "--warmup-lr", "0"), "--warmup-lr must be greater than 0"),
                (Train(trlGood, "--warmup-batch-size", "0"), "--warmup-batch-size must be at least 1"),
                (Train(trlGood, "--max-sequence-length", "1"), "--max-sequence-length must be at least 2"),
                (Train(trlGood, "--clip-low", "1"), "--clip-low must be less than 1"),
                (Train(trlGood, "--clip-high", "0"), "--clip-high must be greater than 0"),
                (Train(trlGood, "--temperature", "0"), "--temperature must be greater than 0"),
                (Train(trlGood, "--step-selection", "first"), "unknown --step-selection 'first'"),
                (Train(trlGood, "--analysis", "magic"), "unknown --analysis 'magic'"),
                (Train(trlGood, "--analysis", "rederivation", "--warmup-steps", "0"), "--warmup-steps 0 skips it"),
                (Train(trlGood, "--analysis", "rederivation", "--prompt-format", "plain"), "unknown --prompt-format 'plain'"),
                (Train(trlGood, "--max-sequence-length", "8"), "trl-good.jsonl: record 1, step 0: the judge's prompt is"),
                (Train(trlGood, "--max-new-tokens", "5000"), "exceeds the base's context of 2,048 tokens"),
                (Train(trlFirstStepNegativeOnly), "up to each solution's first negative one"),
                (["train-judge", "--input", trlGood, "--base", good, "--output", existingJudge], "exists and is not empty"),
                (["train-judge", "--input", trlGood, "--base", good, "--output", aFile], "is a file"),
                (["train-judge", "--input", trlGood, "--base", noTokenizer, "--output", Path.Combine(d, "j2")], "tokenizer.json"),
                (["train-judge", "--input", trlGood, "--base", hugeHidden, "--output", Path.Combine(d, "j3")], "hidden_size"),
                (Train(trlGood, "--log", missingDir), "does not exist"),
                (Train(trlNullCompletion), "trl-null.jsonl:1: completion 1 is null"),
                (Train(trlMismatch), "trl-mismatch.jsonl:1: 2 completions but 1 labels"),
                (Train(trlNullLine), "trl-nullline.jsonl:2"),
                (Train(trlBadLabel), "trl-badlabel.jsonl:1"),
                (Train(trlNoCompletions), "trl-nocompl.jsonl:1: the record has no completions"),
                (Train(trlMissing), "trl-missing.jsonl:1"),
                (Train(trlOneClass), "all positive"),
                (Train(empty), "holds no records"),
                (Train(blank), "holds no records"),
                (Train(Path.Combine(d, "nope.jsonl")), "does not exist"),
                // evaluate (the judge folder is checked first, so these use a real-looking judge folder below)
                (Eval(pbEmptyArray), "not a saved StepWiser judge"),
                (["evaluate", "--judge", existingJudge, "--input", Path.Combine(d, "nope.json")], "not a saved StepWiser judge"),
                // serve start-up
                (Serve("--port", "99999"), "99999"),
                (Serve("--port", "-1"), "-1"),
                (Serve("--host", "myhost.example"), "not an IP address or localhost"),
                (Serve("--host", "999.1.1.1"), "not an IP address or localhost"),
                (Serve("--host", "0.0.0.0"), "--allow-remote"),
                (Serve("--api-key-env", "STEPWISER_TEST_UNSET_VARIABLE"), "STEPWISER_TEST_UNSET_VARIABLE"),
                (Serve("--max-body-kb", "0"), "--max-body-kb must be at least 1"),
                (Serve("--max-concurrent-requests", "0"), "--max-concurrent-requests must be at least 1"),
                (Serve("--device", "cuda"), "CUDA is not available"),
                (Serve("--dtype", "fp64"), "--dtype: unknown type 'fp64'"),
                (["serve", "--model", hugeHidden], "hidden_size"),
                (["serve", "--model", noTokenizer], "tokenizer.json"),
                (["serve", "--builtin", "huge"], "unknown built-in model 'huge'"),
                (["serve"], "exactly one of --model"),
                // the main job and parse errors
                (["--preset", "nope"], "unknown preset 'nope'"),
                (["--preset", "smoke", "--output", d], "holds no main job's output"),
                (["--preset", "smoke", "--output", empty], "is a file; give a folder"),
                (["--threads", "0"], "--threads must be at least 1"),
                (["--annotation-problems", "0"], "--annotation-problems must be at least 1"),
                (["annotate", "--bogus"], "--bogus"),
                (["frobnicate"], "frobnicate"),
            };
            // evaluate against a folder that looks like a judge (manifest present) so the ProcessBench files are reached.
            var fakeJudge = Path.Combine(d, "judge-fake");
            Directory.CreateDirectory(fakeJudge);
            File.WriteAllText(Path.Combine(fakeJudge, "stepwiser-judge.json"), "{}");
            string[] EvalFile(string file, params string[] more) => ["evaluate", "--judge", fakeJudge, "--input", file, .. more];
            var problems = W("problems.jsonl", "{\"prompt\":\"Start with 3. Add 4.\",\"answer\":\"7\"}\n");
            var noPromptProblems = W("noprompt-problems.jsonl", "{\"answer\":\"7\"}\n");
            var noAnswerProblems = W("noanswer-problems.jsonl", "{\"prompt\":\"p\"}\n");
            string[] Search(string file, params string[] more) => ["search", "--input", file, "--output", existing, "--policy", good, "--judge", fakeJudge, .. more];
            string[] Select(string file, params string[] more) => ["select", "--input", file, "--output", existing, "--policy", good, "--judge", fakeJudge, .. more];
            cases =
            [
                .. cases,
                (EvalFile(pbEmptyFile), "pb-emptyfile.json: the file is empty"),
                (EvalFile(pbEmptyArray), "pb-emptyarray.json holds no records"),
                (EvalFile(pbObject), "pb-object.json: not a JSON array of ProcessBench records"),
                (EvalFile(pbTruncated), "pb-truncated.json: not a JSON array of ProcessBench records"),
                (EvalFile(pbFraction), "pb-fraction.json: record 0, field \"label\": 1.5 is not an integer"),
                (EvalFile(pbHuge), "pb-huge.json: record 0, field \"label\": 10000000000 is not an integer"),
                (EvalFile(pbOutOfRange), "pb-range.json: record 0, field \"label\": 5 is not -1 or a step index"),
                (EvalFile(pbStringLabel), "pb-stringlabel.json: record 0, field \"label\": expected Number"),
                (EvalFile(pbNumberStep), "pb-numstep.json: record 0, field \"steps\"[0]"),
                (EvalFile(pbMissing), "pb-missing.json: record 0, field \"problem\": missing"),
                (EvalFile(pbNullRecord), "pb-null.json: record 0 is not a JSON object"),
                (EvalFile(solutions, "--limit", "-1"), "--limit must be at least 0"),
                (EvalFile(pbFraction, "--output", missingDir), "does not exist"),
                (EvalFile(pbFraction, "--output", pbFraction), "is also an input"),
                (EvalFile(pbFraction, "--dtype", "fp8"), "--dtype: unknown type 'fp8'"),
                (EvalFile(pbFraction, "--device", "cuda:0"), "CUDA is not available"),
                (EvalFile(pbFraction, "--votes", "0"), "--votes must be at least 1"),
                (EvalFile(pbFraction, "--template", "compact"), "--template is for a judge served"),
                (["evaluate", "--input", pbFraction], "give --judge <saved judge folder>, or --judge-url"),
                (["evaluate", "--judge-url", "http://127.0.0.1:1/v1", "--input", pbFraction], "needs the judge's prompt template"),
                (["evaluate", "--judge-url", "http://127.0.0.1:1/v1", "--judge", fakeJudge, "--template", "compact", "--input", pbFraction], "needs the judge's prompt template"),
                (["evaluate", "--judge-url", "not a url", "--template", "compact", "--input", pbFraction], "--judge-url 'not a url' is not an absolute http(s) URL"),
                (["evaluate", "--judge-url", "http://127.0.0.1:1/v1", "--template", "fancy", "--input", pbFraction], "--template 'fancy' is neither a built-in judge template"),
                (["evaluate", "--judge-url", "http://127.0.0.1:1/v1", "--template", "compact", "--dtype", "bf16", "--input", pbFraction], "apply to a local --judge"),
                (["evaluate", "--judge-url", "http://127.0.0.1:1/v1", "--template", "compact", "--judge-api-key-env", "STEPWISER_TEST_UNSET_VARIABLE", "--input", pbFraction], "STEPWISER_TEST_UNSET_VARIABLE"),
                // search and select
                (Search(problems, "--max-tries", "0"), "--max-tries must be at least 1"),
                (Search(problems, "--max-chunks", "0"), "--max-chunks must be at least 1"),
                (Search(problems, "--chunk-max-new-tokens", "0"), "--chunk-max-new-tokens must be at least 1"),
                (Search(problems, "--after-max-tries", "never"), "unknown --after-max-tries 'never'"),
                (Search(problems, "--concurrency", "0"), "--concurrency must be at least 1"),
                (Search(problems, "--policy-alone"), "--policy-alone runs without a judge"),
                (Search(problems, "--dtype", "int4"), "--dtype: unknown type 'int4'"),
                (Search(noPromptProblems), "noprompt-problems.jsonl:1: needs \"prompt\""),
                (Search(empty), "holds no problems"),
                (Search(Path.Combine(d, "nope.jsonl")), "does not exist"),
                (["search", "--input", problems, "--output", problems, "--policy", good, "--judge", fakeJudge], "is also an input"),
                (["search", "--input", problems, "--output", Path.Combine(fakeJudge, "out.jsonl"), "--policy", good, "--judge", fakeJudge], "is inside --judge"),
                (["search", "--input", problems, "--output", existing, "--policy", good], "give --judge <saved judge folder>, or --judge-url"),
                (["search", "--input", problems, "--output", existing, "--judge", fakeJudge], "exactly one of --policy"),
                (["search", "--input", problems, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--judge-url", "http://127.0.0.1:1/v1", "--template", "compact", "--device", "cpu"], "apply to a local --policy or --judge"),
                (Select(problems, "--samples", "0"), "--samples must be at least 1"),
                (Select(problems, "--max-new-tokens", "0"), "--max-new-tokens must be at least 1"),
                (Select(noAnswerProblems), "noanswer-problems.jsonl:1: needs \"answer\""),
                (["select", "--input", problems, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--judge", fakeJudge], "needs --chat-template"),
                // annotate over several servers
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--policy-url", "http://127.0.0.1:1/v1/", "--prompt-format", "raw"], "is given 2 times"),
                (["annotate", "--input", solutions, "--output", existing, "--policy-url", "http://127.0.0.1:1/v1", "--prompt-format", "raw", "--concurrency", "0"], "--concurrency must be at least 1"),
                // export
                (["export", "--model", Path.Combine(d, "nodir"), "--output", Path.Combine(d, "exported")], "is not a Hugging Face checkpoint"),
                (["export", "--model", noTokenizer, "--output", Path.Combine(d, "exported")], "has no tokenizer.json"),
                (["export", "--model", good, "--output", Path.Combine(good, "sub")], "is inside --model"),
                (["export", "--model", good, "--output", existingJudge], "exists and is not empty"),
                (["export", "--model", good, "--output", Path.Combine(d, "exported"), "--dtype", "int8"], "--dtype: unknown type 'int8'"),
                (["export", "--model", good, "--output", Path.Combine(d, "exported"), "--device", "cuda"], "CUDA is not available"),
                // merge
                (["merge", "--store", Path.Combine(d, "nostore"), "--output", Path.Combine(d, "merged")], "does not exist"),
                (["merge", "--store", store, "--output", Path.Combine(store, "inner")], "is inside --store"),
                (["merge", "--store", store, "--output", Path.Combine(d, "merged")], "no record of the settings"),
                (["merge", "--store", store, "--store", store, "--output", Path.Combine(d, "merged")], "given twice"),
                (["merge", "--store", store, "--output", aFile], "is a file"),
            ];
            Assert.IsGreaterThanOrEqualTo(60, cases.Length);

            var before = Snapshot(d);
            var failures = new ConcurrentBag<string>();
            Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = 3 }, c =>
            {
                var (code, stdout, stderr) = SamplesApp.Run(c.Args, TimeSpan.FromSeconds(90));
                var what = $"[{string.Join(' ', c.Args.Select(a => a.Replace(d, "…", StringComparison.Ordinal)))}] exit {code}, stderr: {stderr.Replace(d, "…", StringComparison.Ordinal).Trim()}";
                var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (code != 2) failures.Add($"exit code {code}, not 2: {what}");
                else if (!stderr.Contains(c.Expected, StringComparison.Ordinal)) failures.Add($"expected \"{c.Expected}\": {what}");
                else if (stderr.Contains("   at ", StringComparison.Ordinal) || stdout.Contains("   at ", StringComparison.Ordinal)) failures.Add($"stack trace: {what}");
                else if (lines.Length == 0 || !lines[0].StartsWith("error: ", StringComparison.Ordinal)) failures.Add($"no leading error line: {what}");
            });
            var after = Snapshot(d);
            foreach (var (file, content) in before)
                if (!after.TryGetValue(file, out var now) || now != content) failures.Add($"{file} was changed or removed");
            foreach (var file in after.Keys.Except(before.Keys)) failures.Add($"{file} was created");
            Assert.IsEmpty(failures, $"{failures.Count} of {cases.Length} cases failed:\n" + string.Join("\n", failures.Order()));
        }
        finally
        {
            Directory.Delete(d, recursive: true);
        }
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
}
