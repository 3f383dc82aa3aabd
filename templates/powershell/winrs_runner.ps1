# The fixed runner of adsuite's pywinrm client, started as powershell.exe -EncodedCommand.
# pywinrm can only start a process from a command line, so the named script and its
# parameters arrive on standard input: one line of base64, of UTF-8 CLIXML, of a
# hashtable @{ Script = <the script's text>; Parameters = @{ ... } }. Nothing in this
# text varies between runs. The outcome leaves on standard output as one line:
# 'ADSUITE-RESULT:' and base64 of UTF-8 CLIXML of @{ Output; Errors; Warnings; Failure },
# so no console code page can mangle it. Written for Windows PowerShell 5.1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function ConvertTo-AdsuiteError {
    param([System.Management.Automation.ErrorRecord]$Record)
    @{
        Message  = $Record.ToString()
        ErrorId  = $Record.FullyQualifiedErrorId
        Category = $Record.CategoryInfo.Category.ToString()
    }
}

$encoded = (@($input) -join '').Trim()
$requestText = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($encoded))
$request = [System.Management.Automation.PSSerializer]::Deserialize($requestText)
$parameters = @{}
if ($null -ne $request.Parameters) {
    foreach ($key in $request.Parameters.Keys) {
        $parameters[$key] = $request.Parameters[$key]
    }
}
$output = New-Object System.Collections.ArrayList
$errors = New-Object System.Collections.ArrayList
$warnings = New-Object System.Collections.ArrayList
$failure = $null
$block = [scriptblock]::Create($request.Script)

$ErrorActionPreference = 'Continue'
try {
    & $block @parameters 2>&1 3>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.ErrorRecord]) {
            [void]$errors.Add((ConvertTo-AdsuiteError -Record $_))
        }
        elseif ($_ -is [System.Management.Automation.WarningRecord]) {
            [void]$warnings.Add($_.Message)
        }
        else {
            [void]$output.Add($_)
        }
    }
}
catch {
    $failure = ConvertTo-AdsuiteError -Record $_
}

$result = @{ Output = $output; Errors = $errors; Warnings = $warnings; Failure = $failure }
$xml = [System.Management.Automation.PSSerializer]::Serialize($result, 4)
'ADSUITE-RESULT:' + [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($xml))
