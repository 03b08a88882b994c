using System.CommandLine;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Serving;
using Microsoft.Extensions.Hosting;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary><c>serve</c>: exposes a local model on an OpenAI-compatible HTTP API.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "Checkpoint folder in Hugging Face layout (config.json, *.safetensors, tokenizer.json)." };
        var builtIn = new Option<string?>("--builtin") { Description = "Serve a randomly initialised built-in model instead (tiny|small|medium), for smoke tests." };
        var host = new Option<string>("--host") { Description = "Interface to bind; 0.0.0.0 exposes the model to the network.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 8000 };
        var name = new Option<string?>("--served-model-name") { Description = "Model id clients send (default: the folder name)." };
        var device = new Option<string>("--device") { Description = "Where the model runs: cpu, cuda or cuda:N (needs the CUDA backend package).", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "The model's weight type: fp32, bf16 or fp16 (loaded straight into it).", DefaultValueFactory = _ => "fp32" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow a --host that is not loopback (the model becomes reachable from the network; set an API key)." };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Name of an environment variable holding the API key every request must send as a bearer token (default: STEPWISER_SERVE_API_KEY when set)." };
        var maxConcurrent = new Option<int>("--max-concurrent-requests") { Description = "Requests served or waiting at once; more get 429.", DefaultValueFactory = _ => 64 };
        var maxPrompts = new Option<int>("--max-prompts-per-request") { Description = "Prompts in one completions request.", DefaultValueFactory = _ => 256 };
        var maxSequences = new Option<int>("--max-sequences-per-request") { Description = "Prompts × n in one request.", DefaultValueFactory = _ => 1024 };
        var maxBody = new Option<int>("--max-body-kb") { Description = "Largest request body in KiB (413 beyond).", DefaultValueFactory = _ => 4096 };
        var command = new Command("serve", "Serve a model on /v1/completions, /v1/chat/completions and /v1/models (OpenAI-compatible).")
        {
            model, builtIn, host, port, name, device, dtype, allowRemote, apiKeyEnv, maxConcurrent, maxPrompts, maxSequences, maxBody,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(model);
            var builtInName = parse.GetValue(builtIn);
            if ((dir is null) == (builtInName is null)) return Cli.Fail("serve: give exactly one of --model <folder> or --builtin <tiny|small|medium>.");
            if (dir is not null && !File.Exists(Path.Combine(dir.FullName, "config.json"))) return Cli.Fail($"serve: {dir.FullName} has no config.json (expected a Hugging Face checkpoint folder).");
            if (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tokenizer.json"))) return Cli.Fail($"serve: {dir.FullName} has no tokenizer.json.");
            // Where it binds, who may call and how much, all checked before the model is loaded.
            var hostName = parse.GetValue(host)!;
            bool loopback;
            string url;
            try
            {
                loopback = OpenAIServerOptions.CheckHost(hostName);
                url = OpenAIServerOptions.UrlFor(hostName, parse.GetValue(port));
            }
            catch (ArgumentException e) { return Cli.Fail($"serve: --host/--port: {e.Message}"); }
            if (!loopback && !parse.GetValue(allowRemote))
                return Cli.Fail($"serve: --host {hostName} is not a loopback address; the model would be reachable from the network. Add --allow-remote (and an API key) to do that on purpose.");
            var (apiKey, keyVariable) = Cli.ApiKey("serve", parse.GetValue(apiKeyEnv), "STEPWISER_SERVE_API_KEY");
            Cli.AtLeast("--max-concurrent-requests", parse.GetValue(maxConcurrent), 1);
            Cli.AtLeast("--max-prompts-per-request", parse.GetValue(maxPrompts), 1);
            Cli.AtLeast("--max-sequences-per-request", parse.GetValue(maxSequences), 1);
            Cli.AtLeast("--max-body-kb", parse.GetValue(maxBody), 1);
            var torchDevice = Cli.Device(parse.GetValue(device)!);
            var torchDtype = Cli.DType(parse.GetValue(dtype)!);

            // Loading checks the weights (finite, the shapes config.json implies) and that the tokenizer's ids fit the model.
            using var bundle = dir is not null
                ? ModelBundle.Load(dir.FullName, torchDevice, torchDtype)
                : ModelBundle.BuiltIn(CausalLM.CreateRandom(builtInName switch
                {
                    "tiny" => BuiltInModels.Tiny,
                    "small" => BuiltInModels.Small,
                    "medium" => BuiltInModels.Medium,
                    _ => throw new CliException($"serve: unknown built-in model '{builtInName}' (tiny, small or medium)."),
                }, seed: 0, TorchSharp.torch.CPU).To(torchDevice, torchDtype));
            var lm = bundle.Model;
            var tokenizer = bundle.Tokenizer;
            var configPath = dir is null ? null : Path.Combine(dir.FullName, "tokenizer_config.json");
            var template = configPath is not null && File.Exists(configPath) ? ChatTemplate.FromTokenizerConfig(configPath) : ChatTemplate.ChatML;
            // Generation ends at the model's end of turn too (<|im_end|> for ChatML, <|eot_id|> for Llama 3), not only at its end of sequence.
            var engine = new LocalTextGenerator(lm, tokenizer, new LocalGeneratorOptions { ExtraEosTokenIds = EndOfTurnIds(tokenizer, template) });
            var options = new OpenAIServerOptions
            {
                Url = url,
                ModelName = parse.GetValue(name) ?? dir?.Name ?? $"builtin-{builtInName}",
                ApiKey = apiKey,
                MaxConcurrentRequests = parse.GetValue(maxConcurrent),
                MaxPromptsPerRequest = parse.GetValue(maxPrompts),
                MaxSequencesPerRequest = parse.GetValue(maxSequences),
                MaxRequestBodyBytes = parse.GetValue(maxBody) * 1024L,
                MaxContextTokens = lm.Config.MaxPositionEmbeddings,
                VocabularySize = lm.Config.VocabSize,
                CountTokens = text => tokenizer.CountTokens(text),
            };
            options.MaxNewTokens = Math.Min(options.MaxNewTokens, Math.Max(1, lm.Config.MaxPositionEmbeddings - 1));
            await using var app = OpenAICompatibleServer.Build(engine, template, options);
            try { await app.StartAsync(cancellationToken); }
            catch (IOException e) { return Cli.Fail($"serve: cannot listen on {url}: {e.Message}"); }
            if (!loopback) Console.Error.WriteLine($"warning: serving on {hostName}, reachable from the network{(apiKey is null ? " WITHOUT an API key" : "")}.");
            Console.WriteLine($"Serving {options.ModelName} ({lm.ParameterCount:N0} parameters on {lm.Device} in {lm.DType}, {template.Flavor} chat format) on {string.Join(", ", OpenAICompatibleServer.Addresses(app))}/v1"
                + $"{(apiKey is null ? "" : $" (API key from {keyVariable} required)")} — Ctrl+C stops.");
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>The token id of the template's end-of-turn text (<see cref="ChatTemplate.TurnEnd"/>), when the tokenizer has it as a special token.</summary>
    internal static int[] EndOfTurnIds(Microsoft.ML.Tokenizers.Tokenizer tokenizer, ChatTemplate template) =>
        tokenizer is Microsoft.ML.Tokenizers.BpeTokenizer { SpecialTokens: { } special } && special.TryGetValue(template.TurnEnd, out var id) ? [id] : [];
}
