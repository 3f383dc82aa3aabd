<#
Creates a folder (and any missing folder above it), for adsuite's file_acl on local
paths; a folder that already exists is left as it is. The new folder inherits its
permissions from the folder above; adsuite sets them next (set_folder_security.ps1).
Returns Path and Created ($false: it existed). A file of that name is an error.
Values arrive only as parameters. Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$Path
)

$ErrorActionPreference = 'Stop'

$existed = Test-Path -LiteralPath $Path -PathType Container
if (-not $existed) {
    if (Test-Path -LiteralPath $Path) {
        $exception = New-Object -TypeName System.IO.IOException -ArgumentList "$Path is a file, not a folder"
        $category = [System.Management.Automation.ErrorCategory]::ResourceExists
        $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'AdsuiteFileInTheWay', $category, $Path
        $PSCmdlet.ThrowTerminatingError($record)
    }
    $null = [System.IO.Directory]::CreateDirectory($Path)
}

[pscustomobject]@{
    Path    = $Path
    Created = -not $existed
}
