<#
The security descriptors of the given folders, for adsuite's file_acl on local paths.

One object per path, in the order given:
  Path        the path as given
  Exists      $false when there is no such folder (nothing else is set then)
  Descriptor  the self-relative security descriptor, binary, base64: owner, group,
              DACL and, unless -Audit $false, the SACL. Binary rather than SDDL,
              because SDDL spells SIDs of this host's domain and of the host itself
              as aliases (DU, LA) that mean something else anywhere else.
  Subfolders  with -Subfolders $true, the names of the folders in it; junctions and
              symbolic links (reparse points) are left out and never followed
  Error       why this folder could not be read; the other folders are still read

Reading a SACL needs SeSecurityPrivilege ("Manage auditing and security log"): without
it the script stops with the error AdsuiteNoSecurityPrivilege, which names the account
and the privilege. Values arrive only as parameters. Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string[]]$Paths,

    [bool]$Audit = $true,

    [bool]$Subfolders = $false
)

$ErrorActionPreference = 'Stop'

function Test-PrivilegeMissing {
    param([System.Exception]$Exception)
    for ($inner = $Exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Security.AccessControl.PrivilegeNotHeldException]) {
            return $true
        }
    }
    return $false
}

function Get-SubfolderName {
    param([string]$Path)
    $names = foreach ($item in @(Get-ChildItem -LiteralPath $Path -Directory -Force)) {
        if (-not ($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint)) {
            [string]$item.Name
        }
    }
    return , @($names)
}

foreach ($path in $Paths) {
    $found = [ordered]@{ Path = $path; Exists = $false; Descriptor = $null; Subfolders = @(); Error = $null }
    if (Test-Path -LiteralPath $path -PathType Container) {
        $found.Exists = $true
        try {
            $acl = Get-Acl -LiteralPath $path -Audit:$Audit
            $found.Descriptor = [Convert]::ToBase64String($acl.GetSecurityDescriptorBinaryForm())
            if ($Subfolders) {
                $found.Subfolders = Get-SubfolderName -Path $path
            }
        }
        catch {
            if ($Audit -and (Test-PrivilegeMissing -Exception $_.Exception)) {
                $account = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
                $message = "reading audit rules (the SACL) needs SeSecurityPrivilege ('Manage auditing and security log'), which $account does not hold on $env:COMPUTERNAME: grant it to the account, or use one in the host's Administrators group"
                $exception = New-Object -TypeName System.UnauthorizedAccessException -ArgumentList $message
                $category = [System.Management.Automation.ErrorCategory]::PermissionDenied
                $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'AdsuiteNoSecurityPrivilege', $category, $path
                $PSCmdlet.ThrowTerminatingError($record)
            }
            $found.Error = [string]$_.Exception.Message
        }
    }
    elseif (Test-Path -LiteralPath $path) {
        $found.Exists = $true
        $found.Error = 'a file, not a folder'
    }
    [pscustomobject]$found
}
